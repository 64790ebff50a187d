/**
 * `npm run bench`: runs every benchmark in turn; each prints one JSON line with its figure and a
 * baseline measured in the same run. Pass names to run a subset: npm run bench -- validate
 */
const BENCHES: Readonly<Record<string, () => Promise<{ run: () => Promise<void> }>>> = {
  validate: () => import("./validate.bench.js"),
  "check-run": () => import("./check-run.bench.js"),
  evaluate: () => import("./evaluate.bench.js"),
  verify: () => import("./verify.bench.js"),
  append: () => import("./append.bench.js"),
  provision: () => import("./provision.bench.js"),
  "provision-redis": () => import("./redis-provision.bench.js"),
  "provision-squid": () => import("./squid-provision.bench.js"),
  audit: () => import("./audit.bench.js"),
  startup: () => import("./startup.bench.js"),
  detect: () => import("./detect.bench.js"),
  "detect-ingest": () => import("./detect-ingest.bench.js"),
  trail: () => import("./trail.bench.js"),
  "alert-summary": () => import("./alert-summary.bench.js"),
};

const wanted = process.argv.slice(2);
for (const [name, load] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const bench = await load();
  await bench.run();
}
