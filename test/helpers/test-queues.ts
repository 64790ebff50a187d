import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteJobQueue } from "../../src/jobs/sqlite-queue.js";

/**
 * Throwaway SQLite job queues for tests that run the app through its queue, with backoff short
 * enough that retries after injected faults happen within the test.
 */
export class TestQueues {
  private readonly dirs: string[] = [];
  private readonly queues: SqliteJobQueue[] = [];

  open(): SqliteJobQueue {
    const dir = mkdtempSync(join(tmpdir(), "charter-test-queue-"));
    this.dirs.push(dir);
    const queue = new SqliteJobQueue({ path: join(dir, "queue.sqlite"), backoff: { baseMs: 20, capMs: 200 }, pollIntervalMs: 20 });
    this.queues.push(queue);
    return queue;
  }

  /**
   * Stops every queue's workers, then closes the app, then the queues: a job still running must
   * not outlive the simulator it talks to.
   */
  async closeWith(app: { close(): Promise<void> } | undefined): Promise<void> {
    for (const queue of this.queues) await queue.stop();
    await app?.close();
    await this.close();
  }

  async close(): Promise<void> {
    for (const queue of this.queues.splice(0)) await queue.close();
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
