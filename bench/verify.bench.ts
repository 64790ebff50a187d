import { appendToLedger, checkpointFor, EMPTY_LEDGER } from "../src/evidence/ledger.js";
import { sha256 } from "../src/evidence/merkle.js";
import { generateSignerKey } from "../src/evidence/signed-note.js";
import { verifyLedger } from "../src/evidence/verify.js";
import { appendChanges, genesisBody, observedAt, ORIGIN } from "../test/evidence/ledger-fixture.js";
import { compare, report, round, time } from "./measure.js";

const RECORDS = Number(process.env["CHARTER_BENCH_RECORDS"] ?? 100_000);
const ROUNDS = 3;

/**
 * `charter verify`'s core over a ledger of 100,000 change records (about 2.5 kB each, built in
 * memory with the real append function and signed once at the end), against the least any
 * verifier must do with the same bytes: SHA-256 each record once. Reports the ratio.
 */
export async function run(): Promise<void> {
  const keys = generateSignerKey(ORIGIN);
  let records: { path: string; bytes: Uint8Array }[] = [];
  let checkpoint = "";
  const generateMs = await time(() => {
    const genesis = appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(keys.verifierKey), observedAt: observedAt(0) }, { signerKey: keys.signerKey });
    const changes = appendChanges(genesis.tip, 1, RECORDS - 1);
    records = [{ path: genesis.path, bytes: genesis.bytes }, ...changes.map((c) => ({ path: c.path, bytes: c.bytes }))];
    checkpoint = checkpointFor(changes.at(-1)?.tip ?? genesis.tip, [keys.signerKey]);
  });
  const bytes = records.reduce((sum, r) => sum + r.bytes.length, 0);

  const charter = { ok: false };
  const result = await compare(
    ROUNDS,
    () => {
      charter.ok = verifyLedger({ records, checkpoint, verifierKeys: [keys.verifierKey] }).ok;
    },
    () => {
      for (const r of records) sha256(r.bytes);
    },
  );
  if (!charter.ok) throw new Error("verifyLedger rejected the generated ledger");
  report({
    bench: "verify",
    records: RECORDS,
    bytes,
    generate_ms: round(generateMs),
    charter_ms: result.candidateMs,
    per_record_us: round((result.candidateMs * 1000) / RECORDS, 2),
    baseline: "SHA-256 of every record's bytes",
    baseline_ms: result.baselineMs,
    ratio: result.ratio,
  });
}
