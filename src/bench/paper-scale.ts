// A paper-scale probing run: a zoo of 55k training / 5k val / 10k test SIRENs, K = 64, 30
// epochs (about 51.6k steps), timed from opening the zoo to the last evaluation. The zoo holds
// random SIREN weights and labels (fitting 70k real INRs takes hours): the cost of a step does
// not depend on the values.
import { mkdtempSync, rmSync } from "node:fs";
import { makeDirectory } from "../io/dirs.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../engine/index.js";
import { DWSNETS_SIREN, initSiren, sirenParameterShapes } from "../nets/siren.js";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.js";
import { train } from "../train/trainer.js";
import { writeFileAtomic } from "../io/atomic.js";
import { manifestJson, planShards, type ZooManifest } from "../zoo/format.js";
import { encodeSafetensors, type SafeArray } from "../io/safetensors.js";

export interface PaperScaleFigures { networks: number; steps: number; seconds: number; stepsPerSec: number; modelsPerSec: number }

export function writeSyntheticInrZoo(dir: string, splits: { train: number; val: number; test: number }, seed = 0): void {
  const count = splits.train + splits.val + splits.test;
  const shapes = sirenParameterShapes(DWSNETS_SIREN);
  const manifest: ZooManifest = {
    format: "probegen-zoo", version: 1, family: "siren",
    architectures: [{ architecture: { ...DWSNETS_SIREN }, parameters: shapes.map(([name, shape]) => ({ name, shape })) }],
    fields: [{ name: "label", dtype: "I32", description: "random label" }],
    strings: [],
    task: { kind: "classification", labelNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] },
    count,
    splits: { train: [[0, splits.train]], val: [[splits.train, splits.train + splits.val]], test: [[splits.train + splits.val, count]] },
    shards: planShards(count, 10000),
    provenance: { builder: "bench/paper-scale.ts (synthetic)", seed },
  };
  makeDirectory(dir);
  const rng = new Rng(seed, "synthetic-zoo");
  for (const s of manifest.shards) {
    const arrays = shapes.map(([, shape]) => new Float32Array(s.count * shape.reduce((a, b) => a * b, 1)));
    for (let i = 0; i < s.count; i++) {
      initSiren(DWSNETS_SIREN, "siren", rng, shapes.map(([, shape], j) => {
        const per = shape.reduce((a, b) => a * b, 1);
        return arrays[j].subarray(i * per, (i + 1) * per);
      }));
    }
    const tensors: [string, { shape: number[]; data: SafeArray }][] = shapes.map(([name, shape], j) => [name, { shape: [s.count, ...shape], data: arrays[j] }]);
    tensors.push(["label", { shape: [s.count], data: Int32Array.from({ length: s.count }, () => rng.int(10)) }]);
    writeFileAtomic(join(dir, s.file), encodeSafetensors(tensors));
  }
  writeFileAtomic(join(dir, "zoo.json"), manifestJson(manifest));
}

export function paperScaleBench(splits = { train: 55000, val: 5000, test: 10000 }, epochs = 30): PaperScaleFigures {
  const dir = mkdtempSync(join(tmpdir(), "probegen-paper-"));
  try {
    writeSyntheticInrZoo(join(dir, "zoo"), splits);
    const t0 = performance.now();
    const r = train({ ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, "zoo"), epochs }, join(dir, "run"));
    const seconds = (performance.now() - t0) / 1000;
    return { networks: splits.train, steps: r.steps, seconds, stepsPerSec: r.steps / seconds, modelsPerSec: (r.steps * DEFAULT_TRAIN_CONFIG.batch) / seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
