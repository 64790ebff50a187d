import { manifestCandidates } from "../change/affected-agents.js";
import { AGENTS_DIRECTORY } from "../change/governed-paths.js";
import type { ChangeRecord } from "../schema-types/evidence-record.generated.js";

/**
 * The manifest path of an agent in a change record's file hashes. Manifests sit at
 * agents/<id>/agent.yaml; the record names files by repository path.
 */
export function manifestPathOf(record: ChangeRecord, agent: string): string | undefined {
  const hashes = record.body.files.hashes;
  return manifestCandidates(`${AGENTS_DIRECTORY}/${agent}`).find((p) => hashes[p] !== undefined);
}
