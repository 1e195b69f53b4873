// The INR classification experiment: every method x K x seed on one zoo, test accuracy at the
// best validation accuracy, as mean ± std over seeds, printed as a Markdown table.
// "vanilla-uniform" is vanilla probing with probes initialised U(-1,1) instead of N(0,1).
//   node dist/bench/inr-classification.js --zoo DIR [--methods probegen,vanilla,uniform]
//        [--probes 64,128] [--seeds 3] [--epochs 30] [--out runs/inr-classification]
import { parseArgs } from "node:util";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train, type RunResult } from "../src/train/trainer.js";
import type { RepresentationMethod } from "../src/probes/source.js";

export type ExperimentMethod = RepresentationMethod | "vanilla-uniform";
export interface ExperimentRow { method: ExperimentMethod; probes: number; tests: number[]; mean: number; std: number; seconds: number; flops: number }

export function meanStd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return [m, sd];
}

export function runExperiment(zoo: string, methods: ExperimentMethod[], probes: number[], seeds: number, epochs: number, out: string,
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): ExperimentRow[] {
  const rows: ExperimentRow[] = [];
  for (const k of probes) {
    for (const method of methods) {
      if (method === "statnn" && k !== probes[0]) continue; // no probes: one row is enough
      const results: RunResult[] = [];
      for (let seed = 0; seed < seeds; seed++) {
        const dir = join(out, `${method}-k${k}-seed${seed}`);
        rmSync(dir, { recursive: true, force: true });
        const base = method === "vanilla-uniform" ? { method: "vanilla" as const, vanillaInit: "uniform" as const } : { method };
        const r = train({ ...DEFAULT_TRAIN_CONFIG, zoo, ...base, probes: k, seed, epochs }, dir);
        results.push(r);
        log(`${method} K=${k} seed ${seed}: test ${(100 * (r.best?.test ?? NaN)).toFixed(2)}% (val ${(100 * (r.best?.val ?? NaN)).toFixed(2)}%) in ${r.trainSeconds.toFixed(1)} s`);
      }
      const tests = results.map((r) => r.best?.test ?? NaN);
      const [mean, std] = meanStd(tests);
      rows.push({ method, probes: k, tests, mean, std, seconds: meanStd(results.map((r) => r.trainSeconds))[0], flops: results[0].flopsPerNetwork });
    }
  }
  return rows;
}

export function markdownTable(rows: ExperimentRow[]): string {
  const lines = ["| method | K | test accuracy (%) | seeds | train time (s) | MFLOPs / network |", "| --- | --- | --- | --- | --- | --- |"];
  for (const r of rows) {
    lines.push(`| ${r.method} | ${r.method === "statnn" ? "–" : r.probes} | ${(100 * r.mean).toFixed(2)} ± ${(100 * r.std).toFixed(2)} | ${r.tests.map((t) => (100 * t).toFixed(2)).join(", ")} | ${r.seconds.toFixed(1)} | ${(r.flops / 1e6).toFixed(3)} |`);
  }
  return lines.join("\n");
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const { values } = parseArgs({
    options: {
      zoo: { type: "string" }, methods: { type: "string" }, probes: { type: "string" }, seeds: { type: "string" },
      epochs: { type: "string" }, out: { type: "string" },
    },
  });
  if (values.zoo === undefined) { console.error("usage: node dist/bench/inr-classification.js --zoo DIR [...]"); process.exit(2); }
  const rows = runExperiment(values.zoo, (values.methods ?? "probegen,vanilla,uniform").split(",") as ExperimentMethod[],
    (values.probes ?? "64,128").split(",").map(Number), Number(values.seeds ?? 3), Number(values.epochs ?? 30), values.out ?? "runs/inr-classification");
  console.log(markdownTable(rows));
}
