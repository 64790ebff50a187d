import { MAX_CREDENTIAL_LIFETIME_SECONDS, parseDuration } from "../duration.js";
import type { Lint } from "./lint-context.js";

export const credentialsLint: Lint = {
  reads: ["/credentials"],
  run(ctx) {
  const seconds = parseDuration(ctx.manifest.credentials.maxLifetime);
  if (seconds !== undefined && seconds > MAX_CREDENTIAL_LIFETIME_SECONDS) {
    ctx.report(
      "/credentials/maxLifetime",
      "credentials/lifetime-too-long",
      `maxLifetime ${ctx.manifest.credentials.maxLifetime} exceeds the 7d ceiling`,
      "Use short-lived credentials (minutes to hours) and let the provider reissue them.",
    );
  }
  },
};
