import type { ProvisioningOperation } from "../../schema-types/evidence-record.generated.js";
import type { PlannedOperation } from "../../provision/provider.js";
import type { RedisConnection } from "./connection.js";
import { parseLease } from "./metadata.js";
import { agentOfUser, METADATA } from "./names.js";
import { isStep, type Step } from "./steps.js";

class StepFailure extends Error {}

/**
 * Performs a plan, step by step; each step is idempotent and gets its own status. ACL SETUSER
 * applies all of its rules or none, so a user is never left half-configured.
 */
export async function applyRedis(connection: RedisConnection, operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> {
  const results: ProvisioningOperation[] = [];
  for (const op of operations) {
    const step = op.payload;
    if (!isStep(step)) {
      results.push(done(op, "failed", "not a redis provider step"));
      continue;
    }
    try {
      await run(connection, step);
      results.push(done(op, "applied"));
    } catch (error) {
      results.push(done(op, "failed", error instanceof Error ? error.message : String(error)));
    }
  }
  return results;
}

function done(op: PlannedOperation, status: "applied" | "failed", error?: string): ProvisioningOperation {
  const { payload: _payload, ...record } = op;
  return { ...record, status, ...(error === undefined ? {} : { error }) };
}

async function run(connection: RedisConnection, step: Step): Promise<void> {
  // Defence in depth: whatever the payload says, only users named like Charter's are altered.
  const agent = agentOfUser(step.user);
  if (agent === undefined) throw new StepFailure(`refusing to alter ACL user ${JSON.stringify(step.user)}: not a Charter agent user`);
  switch (step.type) {
    case "create-user": {
      const existing = await connection.call("ACL", "GETUSER", step.user);
      const marker = await connection.call("HGET", METADATA.identities, step.user);
      // A user that appeared since the plan without Charter's record is someone else's: never adopt it.
      if (existing !== null && marker === null) throw new StepFailure(`ACL user ${step.user} already exists and is not managed by Charter`);
      await connection.call("HSET", METADATA.identities, step.user, step.marker);
      await connection.call("ACL", "SETUSER", step.user, "reset", "on", ...checkedRules(step.rules));
      return;
    }
    case "set-rules": {
      const passwords = await livePasswords(connection, step.user, agent);
      await connection.call("ACL", "SETUSER", step.user, "reset", "on", ...passwords.map((h) => `#${h}`), ...checkedRules(step.rules));
      return;
    }
    case "set-marker":
      await connection.call("HSET", METADATA.identities, step.user, step.marker);
      return;
    case "drop-password": {
      if (!/^[0-9a-f]{64}$/.test(step.hash)) throw new StepFailure("not a password hash");
      const user = await connection.call("ACL", "GETUSER", step.user);
      if (user !== null && passwordsOf(user).includes(step.hash)) await connection.call("ACL", "SETUSER", step.user, `!${step.hash}`);
      await connection.call("HDEL", METADATA.leases, step.hash);
      return;
    }
    case "kill-connections":
      for (const id of step.ids) {
        if (!/^\d+$/.test(id)) throw new StepFailure(`not a client id: ${JSON.stringify(id)}`);
        // USER as well as ID: a reused id of another user's connection is left alone.
        await connection.call("CLIENT", "KILL", "ID", id, "USER", step.user).catch(ignoreMissing);
      }
      return;
    case "disable-user":
      if ((await connection.call("ACL", "GETUSER", step.user)) !== null) await connection.call("ACL", "SETUSER", step.user, "off", "resetpass");
      return;
    case "kill-user":
      if ((await connection.call("ACL", "GETUSER", step.user)) !== null) await connection.call("CLIENT", "KILL", "USER", step.user).catch(ignoreMissing);
      return;
    case "delete-user": {
      // ACL DELUSER also closes the user's connections, should one have opened since kill-user.
      await connection.call("ACL", "DELUSER", step.user);
      const leases = pairs(await connection.call("HGETALL", METADATA.leases));
      const hashes = leases.filter(([, text]) => parseLease(text)?.agent === step.agent).map(([hash]) => hash);
      if (hashes.length > 0) await connection.call("HDEL", METADATA.leases, ...hashes);
      await connection.call("HDEL", METADATA.identities, step.user);
      return;
    }
  }
}

/** The rules a plan carries must be ones Charter writes: `-@all`, `+command`, and key patterns from the permission grammar. */
function checkedRules(rules: readonly string[]): string[] {
  for (const rule of rules) {
    if (!/^(?:-@all|\+[a-z0-9_-]+(?:\|[a-z0-9_-]+)?|(?:%[RW])?~[A-Za-z0-9:_.{}-]+\*?)$/.test(rule)) throw new StepFailure(`refusing ACL rule ${JSON.stringify(rule)}`);
  }
  if (rules[0] !== "-@all") throw new StepFailure("rules must start with -@all");
  return [...rules];
}

/** Passwords of the user that belong to a lease of this agent that has not expired by the server's clock. */
async function livePasswords(connection: RedisConnection, user: string, agent: string): Promise<string[]> {
  const reply = await connection.call("ACL", "GETUSER", user);
  if (reply === null) return [];
  const [seconds] = (await connection.call("TIME")) as string[];
  const now = Number(seconds) * 1000;
  const out: string[] = [];
  for (const hash of passwordsOf(reply)) {
    const lease = parseLease((await connection.call("HGET", METADATA.leases, hash)) as string | null ?? undefined);
    if (lease?.agent === agent && lease.validUntil > now) out.push(hash);
  }
  return out;
}

function passwordsOf(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  const at = reply.findIndex((v) => v === "passwords");
  const list: unknown = reply[at + 1];
  return at === -1 || !Array.isArray(list) ? [] : list.map(String);
}

function pairs(value: unknown): [string, string][] {
  const list = Array.isArray(value) ? value.map(String) : [];
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push([list[i] as string, list[i + 1] as string]);
  return out;
}

function ignoreMissing(error: unknown): void {
  if (error instanceof Error && /no such (client|user)/i.test(error.message)) return;
  throw error;
}
