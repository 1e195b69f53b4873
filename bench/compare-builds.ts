// Two builds of probegen in one process, their training steps interleaved, so that the host's
// fast and slow states (±30% here) fall on both alike: the figure is the median of per-round
// ratios. The other build is a built checkout, e.g.
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
//   node dist/bench/compare-builds.js /tmp/base [--workload w1|w2|w4] [--rounds 15] [--steps 10] [--threads 2]
// Each build loads its own engine (its own tensor memory and native addon).
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { workload: { type: "string", default: "w2" }, rounds: { type: "string", default: "15" }, steps: { type: "string", default: "10" }, threads: { type: "string", default: "2" } },
});
if (positionals.length !== 1 || !["w1", "w2", "w4"].includes(values.workload)) {
  console.error("usage: node dist/bench/compare-builds.js OTHER_CHECKOUT [--workload w1|w2|w4] [--rounds N] [--steps N] [--threads N]");
  process.exit(2);
}
const here = fileURLToPath(new URL("../../", import.meta.url));
const roots = [resolve(positionals[0]), here];
const rounds = Number(values.rounds), per = Number(values.steps);

interface Build { root: string; step: () => void; ms: number[] }
const builds: Build[] = [];
for (const root of roots) {
  const engine = await import(pathToFileURL(`${root}/dist/src/engine/index.js`).href);
  const w = await import(pathToFileURL(`${root}/dist/src/workloads/workloads.js`).href);
  engine.setThreads(Number(values.threads));
  const make = values.workload === "w1" ? w.makeW1 : values.workload === "w4" ? w.makeW4 : w.makeW2;
  const step = w.trainer(make(0)) as () => void;
  for (let i = 0; i < 3; i++) step();
  builds.push({ root, step, ms: [] });
}
for (let r = 0; r < rounds; r++) {
  for (const b of builds) {
    const t0 = performance.now();
    for (let i = 0; i < per; i++) b.step();
    b.ms.push((performance.now() - t0) / per);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const b of builds) console.log(`${b.root}: median ${median(b.ms).toFixed(2)} ms/step, best ${Math.min(...b.ms).toFixed(2)}`);
const ratios = builds[0].ms.map((v, i) => v / builds[1].ms[i]);
console.log(`${values.workload}: this build is ${median(ratios).toFixed(3)}x the other (per-round ratios ${Math.min(...ratios).toFixed(3)} to ${Math.max(...ratios).toFixed(3)})`);
