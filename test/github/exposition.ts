// A strict reader of the Prometheus text exposition format 0.0.4, for tests: it parses every
// line and throws on anything the format does not allow, so a test that reads output through it
// checks the format as well as the values.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly samples: Sample[];
}

const SAMPLE_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parseExposition(text: string): Map<string, MetricFamily> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("exposition: the last line must end with a line feed");
  const families = new Map<string, MetricFamily>();
  let current: MetricFamily | undefined;
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  lines.forEach((line, index) => {
    const where = `exposition line ${index + 1} ("${line}")`;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (help) {
      const [, name = "", text = ""] = help;
      if (families.has(name)) throw new Error(`${where}: a second HELP for ${name}`);
      current = { name, help: unescapeHelp(text), type: "", samples: [] };
      families.set(name, current);
      return;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      if (!current || current.name !== type[1] || current.type !== "" || current.samples.length > 0) throw new Error(`${where}: TYPE must follow its HELP, before any sample`);
      (current as { type: string }).type = type[2] ?? "";
      return;
    }
    if (line.startsWith("#")) throw new Error(`${where}: an unexpected comment`);
    if (!current || current.type === "") throw new Error(`${where}: a sample before its family's HELP and TYPE`);
    const sample = parseSample(line, where);
    const allowed = current.type === "histogram" ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`] : [current.name];
    if (!allowed.includes(sample.name)) throw new Error(`${where}: ${sample.name} does not belong to ${current.name}`);
    current.samples.push(sample);
  });
  return families;
}

function parseSample(line: string, where: string): Sample {
  const name = SAMPLE_NAME.exec(line)?.[0];
  if (!name) throw new Error(`${where}: no metric name`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (!rest.startsWith("}")) {
      const label = LABEL_NAME.exec(rest)?.[0];
      if (!label || !rest.slice(label.length).startsWith('="')) throw new Error(`${where}: a malformed label`);
      rest = rest.slice(label.length + 2);
      let value = "";
      for (;;) {
        const char = rest[0];
        if (char === undefined || char === "\n") throw new Error(`${where}: an unterminated label value`);
        if (char === '"') break;
        if (char === "\\") {
          const next = rest[1];
          if (next === "\\") value += "\\";
          else if (next === '"') value += '"';
          else if (next === "n") value += "\n";
          else throw new Error(`${where}: an invalid escape in a label value`);
          rest = rest.slice(2);
        } else {
          value += char;
          rest = rest.slice(1);
        }
      }
      if (Object.hasOwn(labels, label)) throw new Error(`${where}: label ${label} twice`);
      labels[label] = value;
      rest = rest.slice(1);
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (!rest.startsWith("}")) throw new Error(`${where}: labels must be separated by commas`);
    }
    rest = rest.slice(1);
  }
  const value = /^ (\S+)$/.exec(rest)?.[1];
  if (value === undefined) throw new Error(`${where}: expected one space and a value`);
  return { name, labels, value: parseValue(value, where) };
}

function parseValue(text: string, where: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: "${text}" is not a number`);
  return Number(text);
}

/** HELP text escapes only the backslash and the line feed. */
function unescapeHelp(text: string): string {
  return text.replace(/\\(.)/g, (_, char: string) => {
    if (char === "\\") return "\\";
    if (char === "n") return "\n";
    throw new Error(`exposition: an invalid escape \\${char} in HELP`);
  });
}
