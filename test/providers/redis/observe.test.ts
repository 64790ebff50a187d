import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionerRules, type RedisProvider } from "../../../src/providers/redis/index.js";
import type { ObservedUser } from "../../../src/providers/redis/observed.js";
import { type RedisFixture, startRedisFixture } from "./fixture.js";

let f: RedisFixture;
let provider: RedisProvider;

const hash = (n: number): string => n.toString(16).padStart(64, "0");

/**
 * Users the way administrators and attackers write them, beside Charter's: the provider reads
 * all of them from one ACL LIST, and must see what ACL GETUSER says of each.
 */
const USERS: Record<string, string[]> = {
  "charter-agent-plain": ["reset", "on", `#${hash(1)}`, "-@all", "+get", "+mget", "%R~cache:a:*", "%W~queue:a:*"],
  "everything": ["on", "nopass", "allkeys", "allchannels", "+@all"],
  "disabled-two-passwords": ["off", `#${hash(5)}`, `#${hash(6)}`, "skip-sanitize-payload", "~a:*", "&chan:*", "+get", "(~sel:* +set)", "(%R~x* +mget)"],
  "subcommands": ["on", ">secret", "resetkeys", "resetchannels", "-@all", "+client|list", "+@read", "-keys"],
  "charter-agent-widened": ["reset", "on", `#${hash(2)}`, "-@all", "+get", "~cache:*", "(~other:* +@all)"],
  "odd-patterns": ["on", "~a)b", "~(c", "&x)", "+get"],
};

beforeAll(async () => {
  f = await startRedisFixture();
  for (const [name, rules] of Object.entries(USERS)) await f.admin.call("ACL", "SETUSER", name, ...rules);
  provider = f.provider();
});
afterAll(async () => {
  await f.stop();
});

/** ACL GETUSER's reply for the user's root selector, as the oracle: a flat list of field, value. */
async function getUser(name: string): Promise<Omit<ObservedUser, "name">> {
  const reply = (await f.admin.call("ACL", "GETUSER", name)) as unknown[];
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const list = (field: string): string[] => (fields.get(field) as unknown[]).map(String);
  return {
    flags: list("flags"),
    passwords: list("passwords"),
    commands: String(fields.get("commands")),
    keys: String(fields.get("keys")),
    channels: String(fields.get("channels")),
    selectors: (fields.get("selectors") as unknown[]).length,
  };
}

describe("observing Redis users in one pass", () => {
  it("reads every user from ACL LIST with the fields ACL GETUSER gives, whatever the rules", async () => {
    const observed = await provider.observe();
    const names = (await f.admin.call("ACL", "USERS")) as string[];
    expect(observed.users.map((u) => u.name).sort()).toEqual([...names].sort());
    for (const name of names) {
      const user = observed.users.find((u) => u.name === name);
      const { name: _, ...fields } = user ?? { name };
      expect(fields, name).toEqual(await getUser(name));
    }
  });

  it("counts a selector on a Charter user, so a rule hidden in one is drift", async () => {
    const observed = await provider.observe();
    expect(observed.users.find((u) => u.name === "charter-agent-widened")?.selectors).toBe(1);
    expect(observed.users.find((u) => u.name === "disabled-two-passwords")?.selectors).toBe(2);
  });
});

describe("the provisioner user docs/providers.md tells an operator to create", () => {
  it("has exactly the rules the provider needs, ACL LIST among them", () => {
    const docs = readFileSync(fileURLToPath(new URL("../../../docs/providers.md", import.meta.url)), "utf8");
    const line = docs.split("\n").find((l) => l.startsWith("ACL SETUSER charter-provisioner "));
    expect(line).toBe(`ACL SETUSER charter-provisioner reset on >PASSWORD ${provisionerRules().join(" ")}`);
    expect(provisionerRules()).toContain("+acl|list");
  });
});
