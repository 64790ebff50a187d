import { openJobQueue } from "../jobs/open-queue.js";
import { createCharterApp } from "./app.js";
import { openTrailRuntime } from "./trail/trail-runtime.js";

/**
 * The app as configured from the environment (main.ts serves it for npm start; `probot run` can
 * load it too). See
 * .env.example and docs/operations.md.
 */
const appId = process.env["APP_ID"] ? Number(process.env["APP_ID"]) : undefined;

// The evidence ledger's signer key, in the Go note signer format (PRIVATE+KEY+…); secret.
const signingKey = process.env["CHARTER_SIGNING_KEY"] || undefined;

// Without an app id Probot serves its setup page and receives no events: no queue is needed.
// With one, every webhook is stored as a job before GitHub is answered (SQLite by default,
// PostgreSQL with DATABASE_URL), so a crash or restart loses nothing.
const jobs = appId === undefined ? undefined : openJobQueue(process.env);
// The action trail's receivers and store (CHARTER_TRAIL=off turns them off).
const trail = appId === undefined ? undefined : await openTrailRuntime(process.env);
if (jobs) {
  const shutdown = (): void => {
    // Finish running jobs, then let the process end; a second signal ends it at once.
    process.removeListener("SIGTERM", shutdown);
    process.removeListener("SIGINT", shutdown);
    void jobs
      .stop()
      .then(() => jobs.close())
      .then(() => trail?.close())
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

const workers = process.env["CHARTER_WORKERS"] ? Number(process.env["CHARTER_WORKERS"]) : undefined;
export default createCharterApp({ appId, signingKey, ...(jobs ? { jobs } : {}), ...(workers ? { workers } : {}), ...(trail ? { trail } : {}) });
