import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { spawnGroup } from "../helpers/child-processes.js";
import { freePort } from "../helpers/free-port.js";

const root = fileURLToPath(new URL("../../", import.meta.url));


describe("npm start without credentials", () => {
  it("serves Probot's setup page offline, registering the app from app.yml", async () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { scripts: Record<string, string> };
    // The same command npm start runs (after its build step, which npm test has already done).
    const [command, ...args] = (pkg.scripts["start"] ?? "").split(" ");
    expect(command).toBe("node");
    const port = await freePort();
    const env: Record<string, string> = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", PORT: String(port), NO_SMEE_SETUP: "true", LOG_LEVEL: "warn" };
    const app = spawnGroup(process.execPath, args, { cwd: root, env, stdio: "ignore" });
    try {
      let html = "";
      for (let attempt = 0; attempt < 100 && html === ""; attempt++) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/probot`);
          if (response.ok) html = await response.text();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(html).toContain("Register GitHub App");
      const manifest = JSON.parse(/value='(\{.*?\})'/s.exec(html)?.[1] ?? "{}") as Record<string, unknown>;
      const appYml = parse(readFileSync(`${root}app.yml`, "utf8")) as Record<string, unknown>;
      expect(manifest).toMatchObject({
        name: appYml["name"],
        default_events: appYml["default_events"],
        default_permissions: appYml["default_permissions"],
        redirect_url: `http://127.0.0.1:${port}/probot/setup`,
      });
    } finally {
      await app.stop();
    }
  });
});
