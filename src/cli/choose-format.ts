import { CharterError } from "../errors.js";

/** The --format value if it is one the command offers; otherwise a usage error listing them. */
export function chooseFormat<F extends string>(value: string, formats: readonly F[]): F {
  if ((formats as readonly string[]).includes(value)) return value as F;
  throw new CharterError("USAGE", `unknown format "${value}"`, { hint: `Use one of: ${formats.join(", ")}.` });
}
