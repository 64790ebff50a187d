import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { CharterError } from "../errors.js";

/**
 * The environment every git call runs with. Paths reaching git come from pull requests:
 * GIT_LITERAL_PATHSPECS makes git take them as names, never as glob patterns or pathspec magic
 * (":(top)", "*"). No call may prompt for credentials or take optional locks in the user's
 * repository.
 */
export function gitEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_LITERAL_PATHSPECS: "1", GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0" };
}

export interface GitResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

// Listings and diffs of very large changes still fit; anything beyond is a failure, not a truncation.
const MAX_OUTPUT = 256 * 1024 * 1024;

/**
 * Runs one git command without a shell (arguments are passed as they are, never parsed) and
 * resolves with its exit code, whatever it is: callers decide which codes are errors. Rejects
 * only when git cannot run at all.
 */
export function runGit(cwd: string, args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, env: gitEnvironment(), encoding: "buffer", maxBuffer: MAX_OUTPUT, windowsHide: true }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (error && typeof code !== "number") {
        reject(cannotRun(cwd, args, error));
        return;
      }
      resolve({ code: typeof code === "number" ? code : 0, stdout, stderr: stderr.toString("utf8") });
    });
  });
}

/**
 * Why git could not start. Node reports a missing working directory exactly as a missing
 * program (ENOENT), so the directory is looked at before blaming git.
 */
function cannotRun(cwd: string, args: readonly string[], error: Error & { code?: unknown }): CharterError {
  if (error.code === "ENOENT" && !existsSync(cwd)) {
    return new CharterError("NOT_FOUND", `${cwd}: no such directory`, { hint: "Check the path given with --root or --repo.", cause: error });
  }
  if (error.code === "ENOENT") {
    return new CharterError("IO", "git is not installed or not on PATH", { hint: "Install git: Charter reads commits and the evidence branch with it.", cause: error });
  }
  return new CharterError("IO", `git ${args[0] ?? ""} failed: ${error.message}`, { cause: error });
}

/** Runs git and returns its output; a non-zero exit is an IO error quoting git's own reason. */
export async function gitOutput(cwd: string, args: readonly string[]): Promise<Buffer> {
  const result = await runGit(cwd, args);
  if (result.code !== 0) throw new CharterError("IO", `git ${args[0] ?? ""} failed: ${firstLine(result.stderr)}`);
  return result.stdout;
}

/**
 * The line of git's error output that says what went wrong: its first "fatal:" or "error:" line
 * (without the prefix), else its first line. git often adds advice after the reason ("Please
 * make sure you have the correct access rights / and the repository exists."), which alone
 * reads as nonsense.
 */
export function firstLine(text: string): string {
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const reason = lines.find((line) => /^(fatal|error): /.test(line));
  return (reason ?? lines[0] ?? "").replace(/^(fatal|error): /, "");
}

/** Splits NUL-terminated output (-z) into records. */
export function splitNul(output: Buffer): string[] {
  const text = output.toString("utf8");
  const records = text.split("\0");
  if (records.at(-1) === "") records.pop();
  return records;
}
