/**
 * Remembers the named environment variables; the returned function puts them back as they were.
 * process.env turns undefined into the string "undefined", so one that was unset is removed.
 */
export function saveEnv(names: Iterable<string>): () => void {
  const saved = [...names].map((name) => [name, process.env[name]] as const);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  };
}
