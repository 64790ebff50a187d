import type { Permission } from "../../manifest/permission.js";

/**
 * ACL rules from approved permissions, and the meaning of the rules a server holds.
 *
 * Redis describes a user's commands (ACL GETUSER) not as they were set but as a shortest
 * sequence it reconstructs from its bitmap (`-@all +@read -@dangerous` reads back as
 * `-@all +@read -sort_ro -keys`, and the form changes between versions). So rules are compared by
 * meaning: both sides are evaluated against the server's own command table (COMMAND) into the set
 * of commands and subcommands they allow.
 */

/** A command or subcommand (`get`, `function|flush`): what an ACL bit stands for. */
interface Leaf {
  readonly categories: ReadonlySet<string>;
  /** Takes key arguments, so the user's key patterns restrict it. */
  readonly keyed: boolean;
}

export interface CommandTable {
  readonly leaves: ReadonlyMap<string, Leaf>;
  /** Container command → its subcommands (`function` → `function|flush`, …). */
  readonly containers: ReadonlyMap<string, readonly string[]>;
  /** Category (`@read`) → the leaves in it. */
  readonly byCategory: ReadonlyMap<string, readonly string[]>;
}

/**
 * Categories an agent never gets with read or write: a command in them reaches beyond the
 * approved keys or the data (FLUSHALL, KEYS, FUNCTION FLUSH, CONFIG, …). A command without key
 * arguments is left out too, for the same reason (SCAN and RANDOMKEY list keys of every pattern).
 */
const EXCLUDED = ["@dangerous", "@admin", "@scripting", "@pubsub", "@connection"];

/** Parses the reply of COMMAND (Redis 7: name, arity, flags, first key, last key, step, categories, tips, key specs, subcommands). */
export function parseCommandTable(reply: unknown): CommandTable {
  const leaves = new Map<string, Leaf>();
  const containers = new Map<string, string[]>();
  if (!Array.isArray(reply)) throw new Error("COMMAND did not return a list");
  for (const entry of reply) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string") continue;
    const name = entry[0].toLowerCase();
    const categories = stringList(entry[6]);
    const subcommands = Array.isArray(entry[9]) ? (entry[9] as unknown[]) : [];
    if (subcommands.length === 0) {
      leaves.set(name, { categories: new Set(categories), keyed: isKeyed(entry) });
      continue;
    }
    const subs: string[] = [];
    for (const sub of subcommands) {
      if (!Array.isArray(sub) || typeof sub[0] !== "string") continue;
      const subName = sub[0].toLowerCase();
      // A category of the container applies to every subcommand (that is how +@cat sets bits).
      leaves.set(subName, { categories: new Set([...categories, ...stringList(sub[6])]), keyed: isKeyed(sub) });
      subs.push(subName);
    }
    containers.set(name, subs);
  }
  const byCategory = new Map<string, string[]>();
  for (const [name, leaf] of leaves) {
    for (const category of leaf.categories) {
      const list = byCategory.get(category);
      if (list === undefined) byCategory.set(category, [name]);
      else list.push(name);
    }
  }
  return { leaves, containers, byCategory };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string").map((v) => v.toLowerCase()) : [];
}

function isKeyed(entry: unknown[]): boolean {
  return (typeof entry[3] === "number" && entry[3] > 0) || (Array.isArray(entry[8]) && entry[8].length > 0);
}

/** The key permissions Redis 7 knows: read (%R~), write (%W~), or both (~). */
export type KeyAccess = "R" | "W" | "RW";

export interface DesiredAccess {
  /** Key pattern → access, from the approved permissions. */
  readonly keys: ReadonlyMap<string, KeyAccess>;
  readonly read: boolean;
  readonly write: boolean;
}

export function desiredAccess(permissions: readonly Permission[]): DesiredAccess {
  const keys = new Map<string, KeyAccess>();
  let read = false;
  let write = false;
  for (const p of permissions) {
    const mine: KeyAccess = p.action === "read" ? "R" : "W";
    if (mine === "R") read = true;
    else write = true;
    const held = keys.get(p.resource);
    keys.set(p.resource, held === undefined || held === mine ? mine : "RW");
  }
  return { keys, read, write };
}

/** Every command and subcommand the approved categories allow: in @read (or @write), keyed, and in no excluded category. */
export function allowedCommands(table: CommandTable, access: Pick<DesiredAccess, "read" | "write">): Set<string> {
  const out = new Set<string>();
  for (const [name, leaf] of table.leaves) {
    if (!leaf.keyed || EXCLUDED.some((c) => leaf.categories.has(c))) continue;
    if ((access.read && leaf.categories.has("@read")) || (access.write && leaf.categories.has("@write"))) out.add(name);
  }
  return out;
}

/**
 * The ACL SETUSER arguments that give exactly `commands` on exactly `keys`, after `reset`
 * (no password, no key, no channel, no command, no selector, off). The caller adds `on` and
 * the passwords.
 */
export function ruleArguments(commands: ReadonlySet<string>, keys: ReadonlyMap<string, KeyAccess>): string[] {
  const keyRules = [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([pattern, access]) => (access === "RW" ? `~${pattern}` : `%${access}~${pattern}`));
  return ["-@all", ...[...commands].sort().map((c) => `+${c}`), ...keyRules];
}

/** Evaluates a user's command rules as ACL GETUSER shows them; undefined when a rule is not understood (which then counts as a difference). */
export function evaluateCommands(table: CommandTable, rules: string): Set<string> | undefined {
  const allowed = new Set<string>();
  const all = [...table.leaves.keys()];
  for (const token of rules.split(" ").filter((t) => t !== "")) {
    const sign = token[0];
    const rest = token.slice(1).toLowerCase();
    if (token === "allcommands" || token === "+@all") {
      for (const c of all) allowed.add(c);
      continue;
    }
    if (token === "nocommands" || token === "-@all") {
      allowed.clear();
      continue;
    }
    if (sign !== "+" && sign !== "-") return undefined;
    const set = (name: string): void => {
      if (sign === "+") allowed.add(name);
      else allowed.delete(name);
    };
    if (rest.startsWith("@")) {
      for (const name of table.byCategory.get(rest) ?? []) set(name);
      continue;
    }
    const subs = table.containers.get(rest);
    if (subs !== undefined) for (const s of subs) set(s);
    else if (table.leaves.has(rest)) set(rest);
    // First-argument rules (`+select|0`) and unknown commands are not something Charter writes.
    else return undefined;
  }
  return allowed;
}

/** Parses ACL GETUSER's keys field (`%R~a:* ~b:* allkeys`); undefined when a rule is not understood. */
export function parseKeys(text: string): Map<string, KeyAccess> | undefined {
  const out = new Map<string, KeyAccess>();
  for (const token of text.split(" ").filter((t) => t !== "")) {
    const match = /^(?:%(R|W|RW|WR))?~(.+)$/.exec(token);
    if (token === "allkeys") {
      out.set("*", "RW");
      continue;
    }
    if (match === null) return undefined;
    const access = match[1] === undefined || match[1] === "WR" ? "RW" : (match[1] as KeyAccess);
    const pattern = match[2] as string;
    const held = out.get(pattern);
    out.set(pattern, held === undefined || held === access ? access : "RW");
  }
  return out;
}

export function sameKeys(a: ReadonlyMap<string, KeyAccess>, b: ReadonlyMap<string, KeyAccess>): boolean {
  return a.size === b.size && [...a].every(([pattern, access]) => b.get(pattern) === access);
}

export function describeKeys(keys: ReadonlyMap<string, KeyAccess>): string {
  return [...keys].map(([pattern, access]) => (access === "RW" ? `~${pattern}` : `%${access}~${pattern}`)).join(" ") || "no keys";
}
