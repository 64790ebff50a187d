// Preloaded into a measured process (node --import): at exit it writes the kernel's record of the
// process's peak resident set (getrusage ru_maxrss, in KiB) to the file CHARTER_PEAK_RSS_FILE names.
import { writeFileSync } from "node:fs";

const file = process.env["CHARTER_PEAK_RSS_FILE"];
if (file) {
  process.on("exit", () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
