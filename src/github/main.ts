import { existsSync } from "node:fs";
import { run } from "probot";
import { CharterOctokit } from "./api/tuned-octokit.js";

/**
 * `npm start`: Probot's server with Charter's app and Charter's tuned Octokit (rate limits, see
 * tuned-octokit.ts), which the `probot run` command has no way to take. Like that command, it
 * reads `.env` first; variables already set in the environment win.
 */
if (existsSync(".env")) process.loadEnvFile(".env");
const { default: app } = await import("./index.js");
await run(app, { Octokit: CharterOctokit });
