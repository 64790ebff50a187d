import { type CharSet, parseRegex, type RegexFlags, type RegexNode, REGEX_SUPPORTED } from "./parse-regex.js";

/**
 * A regular expression compiled for a Thompson-style automaton and run by simulating every
 * possible state at once (a Pike VM without captures). Each input position visits each program
 * instruction at most once, so a match costs at most (input length + 1) × program length steps,
 * whatever the pattern: the catastrophic backtracking of (a+)+$ cannot happen. Rules ask only
 * whether a pattern occurs in a field, so no capture groups are tracked.
 */
export interface LinearRegex {
  readonly source: string;
  /** Whether the pattern occurs anywhere in the input (search semantics, like PCRE without anchors). */
  test(input: string): boolean;
  /** The same, with the number of automaton steps taken: the bound the tests check. */
  testCounted(input: string): { readonly matched: boolean; readonly steps: number };
  /** Instructions in the compiled program; a match takes at most (length + 1) × size × 2 steps. */
  readonly size: number;
}

export type RegexCompile = { readonly ok: true; readonly regex: LinearRegex } | { readonly ok: false; readonly offset: number; readonly message: string };

/** Instructions a compiled pattern may have; counted repetitions are what make programs grow. */
const MAX_PROGRAM = 4_000;

const enum Op {
  Set,
  Dot,
  Split,
  Jmp,
  Match,
  Bol,
  Eol,
  Word,
  NotWord,
}

interface CompiledSet {
  /** Bitmap for code units below 128. */
  readonly ascii: Uint32Array;
  /** Ranges of code units from 128 up, as [lo, hi, ...]. */
  readonly high: Int32Array;
  readonly negated: boolean;
}

export function compileRegex(pattern: string, flags: Partial<RegexFlags> = {}): RegexCompile {
  const parsed = parseRegex(pattern, flags);
  if (!parsed.ok) return parsed;
  const builder = new ProgramBuilder();
  try {
    builder.emit(parsed.node);
  } catch (error) {
    if (error instanceof ProgramTooLarge) {
      return { ok: false, offset: 0, message: `the pattern expands to more than ${MAX_PROGRAM} automaton states (counted repetitions multiply); simplify it. ${REGEX_SUPPORTED}` };
    }
    throw error;
  }
  builder.push(Op.Match, 0, 0);
  return { ok: true, regex: new PikeRegex(pattern, builder, parsed.flags, requiredPrefix(parsed.node, parsed.flags)) };
}

/**
 * The literal text every match starts with, and whether it must be at the input's start: a
 * cheap test that rules out most inputs before the automaton runs (most rule patterns begin
 * with a literal such as ^finance\.ledger\.).
 */
function requiredPrefix(node: RegexNode, flags: RegexFlags): { readonly text: string; readonly anchored: boolean } | undefined {
  const items = node.t === "cat" ? node.items : [node];
  let i = 0;
  let anchored = false;
  if (items[0]?.t === "assert" && items[0].kind === "bol" && !flags.multiline) {
    anchored = true;
    i = 1;
  }
  let text = "";
  for (; i < items.length; i++) {
    const item = items[i];
    if (item?.t !== "set" || item.set.negated || item.set.ranges.length !== 2 || item.set.ranges[0] !== item.set.ranges[1]) break;
    text += String.fromCharCode(item.set.ranges[0] ?? 0);
  }
  if (text.length === 0) return undefined;
  return { text: flags.ignoreCase ? text.toLowerCase() : text, anchored };
}

class ProgramTooLarge extends Error {}

class ProgramBuilder {
  readonly op: number[] = [];
  readonly x: number[] = [];
  readonly y: number[] = [];
  readonly sets: CompiledSet[] = [];

  push(op: Op, x: number, y: number): number {
    if (this.op.length >= MAX_PROGRAM) throw new ProgramTooLarge();
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  emit(node: RegexNode): void {
    switch (node.t) {
      case "empty":
        return;
      case "set":
        this.sets.push(compileSet(node.set));
        this.push(Op.Set, this.sets.length - 1, 0);
        return;
      case "dot":
        this.push(Op.Dot, 0, 0);
        return;
      case "assert":
        this.push(node.kind === "bol" ? Op.Bol : node.kind === "eol" ? Op.Eol : node.kind === "word" ? Op.Word : Op.NotWord, 0, 0);
        return;
      case "cat":
        for (const item of node.items) this.emit(item);
        return;
      case "alt": {
        // split L1, next; L1: a; jmp end; next: split L2, ... ; last alternative falls through.
        const jumps: number[] = [];
        node.items.forEach((item, i) => {
          if (i === node.items.length - 1) {
            this.emit(item);
            return;
          }
          const split = this.push(Op.Split, 0, 0);
          this.x[split] = this.op.length;
          this.emit(item);
          jumps.push(this.push(Op.Jmp, 0, 0));
          this.y[split] = this.op.length;
        });
        for (const j of jumps) this.x[j] = this.op.length;
        return;
      }
      case "rep": {
        for (let i = 0; i < node.min; i++) this.emit(node.node);
        if (node.max === -1) {
          // loop: split body, out; body; jmp loop
          const loop = this.push(Op.Split, 0, 0);
          this.x[loop] = this.op.length;
          this.emit(node.node);
          this.push(Op.Jmp, loop, 0);
          this.y[loop] = this.op.length;
          return;
        }
        const splits: number[] = [];
        for (let i = node.min; i < node.max; i++) {
          const split = this.push(Op.Split, 0, 0);
          this.x[split] = this.op.length;
          splits.push(split);
          this.emit(node.node);
        }
        for (const s of splits) this.y[s] = this.op.length;
        return;
      }
    }
  }
}

function compileSet(set: CharSet): CompiledSet {
  const ascii = new Uint32Array(4);
  const high: number[] = [];
  for (let i = 0; i + 1 < set.ranges.length; i += 2) {
    const lo = set.ranges[i] ?? 0;
    const hi = set.ranges[i + 1] ?? 0;
    for (let c = lo; c <= Math.min(hi, 127); c++) ascii[c >> 5] = (ascii[c >> 5] ?? 0) | (1 << (c & 31));
    if (hi >= 128) high.push(Math.max(lo, 128), hi);
  }
  return { ascii, high: Int32Array.from(high), negated: set.negated };
}

function inRanges(set: CompiledSet, c: number): boolean {
  if (c < 128) return ((set.ascii[c >> 5] ?? 0) & (1 << (c & 31))) !== 0;
  const high = set.high;
  for (let i = 0; i < high.length; i += 2) if (c >= (high[i] ?? 0) && c <= (high[i + 1] ?? 0)) return true;
  return false;
}

let lowerTable: Uint16Array | undefined;
let upperTable: Uint16Array | undefined;

/** Simple one-to-one case mappings of every UTF-16 code unit, built once on first use. */
function caseTables(): [Uint16Array, Uint16Array] {
  if (!lowerTable || !upperTable) {
    lowerTable = new Uint16Array(0x10000);
    upperTable = new Uint16Array(0x10000);
    for (let c = 0; c < 0x10000; c++) {
      const s = String.fromCharCode(c);
      const lower = s.toLowerCase();
      const upper = s.toUpperCase();
      lowerTable[c] = lower.length === 1 ? lower.charCodeAt(0) : c;
      upperTable[c] = upper.length === 1 ? upper.charCodeAt(0) : c;
    }
  }
  return [lowerTable, upperTable];
}

function isWord(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x61 && c <= 0x7a);
}

class PikeRegex implements LinearRegex {
  readonly size: number;
  private readonly op: Uint8Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly sets: readonly CompiledSet[];
  private readonly lower: Uint16Array | undefined;
  private readonly upper: Uint16Array | undefined;
  /** A pattern that starts with ^ (without m) can only match at position 0. */
  private readonly anchored: boolean;
  // Work lists reused across calls; a rule engine runs one match at a time.
  private readonly clist: Int32Array;
  private readonly nlist: Int32Array;
  private readonly marks: Uint32Array;
  private readonly stack: Int32Array;
  private generation = 0;

  constructor(
    readonly source: string,
    program: ProgramBuilder,
    private readonly flags: RegexFlags,
    private readonly prefix: { readonly text: string; readonly anchored: boolean } | undefined,
  ) {
    this.size = program.op.length;
    this.op = Uint8Array.from(program.op);
    this.x = Int32Array.from(program.x);
    this.y = Int32Array.from(program.y);
    this.sets = program.sets;
    if (flags.ignoreCase) [this.lower, this.upper] = caseTables();
    this.anchored = !flags.multiline && this.op[0] === Op.Bol;
    this.clist = new Int32Array(this.size);
    this.nlist = new Int32Array(this.size);
    this.marks = new Uint32Array(this.size);
    this.stack = new Int32Array(this.size * 2 + 2);
  }

  test(input: string): boolean {
    const p = this.prefix;
    if (p) {
      const text = this.flags.ignoreCase ? input.toLowerCase() : input;
      if (p.anchored ? !text.startsWith(p.text) : !text.includes(p.text)) return false;
    }
    return this.run(input).matched;
  }

  testCounted(input: string): { readonly matched: boolean; readonly steps: number } {
    return this.run(input);
  }

  private setMatches(index: number, c: number): boolean {
    const set = this.sets[index];
    if (!set) return false;
    let hit = inRanges(set, c);
    if (!hit && this.lower && this.upper) hit = inRanges(set, this.lower[c] ?? c) || inRanges(set, this.upper[c] ?? c);
    return hit !== set.negated;
  }

  private run(input: string): { matched: boolean; steps: number } {
    const n = input.length;
    let clist = this.clist;
    let nlist = this.nlist;
    let ccount = 0;
    let steps = 0;
    let gen = this.nextGeneration();
    for (let pos = 0; pos <= n; pos++) {
      if (pos === 0 || !this.anchored) {
        const added = this.addThread(clist, ccount, 0, pos, input, gen);
        if (added < 0) return { matched: true, steps: steps + this.size };
        steps += added - ccount + 1;
        ccount = added;
      }
      if (ccount === 0) {
        if (this.anchored) break;
        // The next position's threads (only pc 0 here) are marked in a fresh generation.
        gen = this.nextGeneration();
        continue;
      }
      if (pos === n) break;
      const c = input.charCodeAt(pos);
      gen = this.nextGeneration();
      let ncount = 0;
      for (let i = 0; i < ccount; i++) {
        const pc = clist[i] ?? 0;
        steps++;
        const op = this.op[pc];
        const ok = op === Op.Set ? this.setMatches(this.x[pc] ?? 0, c) : op === Op.Dot ? this.flags.dotAll || (c !== 0x0a && c !== 0x0d) : false;
        if (!ok) continue;
        const added = this.addThread(nlist, ncount, pc + 1, pos + 1, input, gen);
        if (added < 0) return { matched: true, steps };
        steps += added - ncount;
        ncount = added;
      }
      [clist, nlist] = [nlist, clist];
      ccount = ncount;
    }
    return { matched: false, steps };
  }

  private nextGeneration(): number {
    if (++this.generation === 0xffffffff) {
      this.marks.fill(0);
      this.generation = 1;
    }
    return this.generation;
  }

  /**
   * Adds pc and everything reachable from it without consuming input (the epsilon closure at
   * pos) to list; returns the new length, or -1 when a Match instruction is reached.
   */
  private addThread(list: Int32Array, count: number, start: number, pos: number, input: string, gen: number): number {
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = start;
    while (sp > 0) {
      const pc = stack[--sp] ?? 0;
      if (this.marks[pc] === gen) continue;
      this.marks[pc] = gen;
      switch (this.op[pc]) {
        case Op.Match:
          return -1;
        case Op.Jmp:
          stack[sp++] = this.x[pc] ?? 0;
          break;
        case Op.Split:
          // Pushed in reverse so that the preferred branch is explored first (order does not change the answer).
          stack[sp++] = this.y[pc] ?? 0;
          stack[sp++] = this.x[pc] ?? 0;
          break;
        case Op.Bol:
          if (pos === 0 || (this.flags.multiline && input.charCodeAt(pos - 1) === 0x0a)) stack[sp++] = pc + 1;
          break;
        case Op.Eol:
          if (pos === input.length || (this.flags.multiline && input.charCodeAt(pos) === 0x0a)) stack[sp++] = pc + 1;
          break;
        case Op.Word:
        case Op.NotWord: {
          const before = pos > 0 && isWord(input.charCodeAt(pos - 1));
          const after = pos < input.length && isWord(input.charCodeAt(pos));
          if ((before !== after) === (this.op[pc] === Op.Word)) stack[sp++] = pc + 1;
          break;
        }
        default:
          list[count++] = pc;
      }
    }
    return count;
  }
}
