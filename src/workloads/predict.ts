// Prediction rates: a run's model (K = 64 ProbeGen probes, the 6-layer head) asked about a zoo of
// networks held in memory, in the chunks `probegen predict` uses. SIRENs (DWSNets' 2-32-32-1) and
// Small CNN Zoo networks, random weights (the cost does not depend on the values).
import { Rng, noGrad, tidy } from "../engine/index.js";
import { DWSNETS_SIREN, sirenParameterShapes } from "../nets/siren.js";
import { cnnParameterShapes } from "../nets/cnn.js";
import { smallCnnZooArchitecture } from "../nets/small-cnn.js";
import { PREDICT_CHUNK } from "../predict/predict.js";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.js";
import { ProbingModel } from "../train/probing-model.js";
import { ZooData } from "../train/zoo-data.js";
import { Zoo, type ZooManifest } from "../zoo/format.js";

export interface PredictFigures { inrsPerSec: number; cnnsPerSec: number; inrs: number; cnns: number }

function memoryZoo(family: string, architecture: Record<string, unknown>, shapes: [string, number[]][], n: number): Zoo {
  const rng = new Rng(5, `bench-predict:${family}`);
  const params = new Map(shapes.map(([name, shape]) => [name, rng.fillNormal(new Float32Array(n * shape.reduce((a, b) => a * b, 1)), 0, 0.1)]));
  const manifest: ZooManifest = {
    format: "probegen-zoo", version: 1, family, architectures: [{ architecture, parameters: shapes.map(([name, shape]) => ({ name, shape })) }],
    fields: [], strings: [], task: { kind: "regression", target: "score" }, count: n,
    splits: { train: [], val: [], test: [[0, n]] }, shards: [{ file: "(memory)", start: 0, count: n }], provenance: {},
  };
  return Zoo.inMemory("(bench)", manifest, { params, groups: [params], architecture: new Int32Array(n), fields: new Map(), strings: new Map(), count: n });
}

function rate(zoo: Zoo): number {
  const data = new ZooData(zoo, { unlabelled: true });
  const model = new ProbingModel({ ...DEFAULT_TRAIN_CONFIG, zoo: "(bench)" }, 1, data);
  const n = zoo.count;
  const pass = () => noGrad(() => {
    for (let s = 0; s < n; s += PREDICT_CHUNK) tidy(() => { model.forward(data, Int32Array.from({ length: Math.min(PREDICT_CHUNK, n - s) }, (_, j) => s + j)); });
  });
  pass(); // warm-up
  const t0 = performance.now();
  pass();
  const seconds = (performance.now() - t0) / 1000;
  data.dispose();
  return n / seconds;
}

export function predictBench(quick = false): PredictFigures {
  const inrs = quick ? 1000 : 20000, cnns = quick ? 64 : 1024;
  const cnn = smallCnnZooArchitecture();
  return {
    inrs, cnns,
    inrsPerSec: rate(memoryZoo("siren", { ...DWSNETS_SIREN }, sirenParameterShapes(DWSNETS_SIREN), inrs)),
    cnnsPerSec: rate(memoryZoo("cnn", { ...cnn }, cnnParameterShapes(cnn), cnns)),
  };
}
