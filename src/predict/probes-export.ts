// A run's probes, exported for use outside probegen: the K probe inputs as .npy and .safetensors,
// and probes.json saying what they are and in which layout the answers must come back, so that
// a model probegen cannot load (another framework, a compiled model, a remote API) can be asked
// and its answers handed to `probegen predict RUN --responses FILE.npy`.
import { join, resolve } from "node:path";
import { noGrad, tidy } from "../engine/index.js";
import { CNN_INPUT_DESCRIPTION } from "../data/cnn-input.js";
import { npyHeader } from "../io/npy.js";
import { encodeSafetensors } from "../io/safetensors.js";
import { ExportFolder, type ExportReport } from "../zoo/interop/export-folder.js";
import type { TrainedRun } from "./run-model.js";

export interface ProbesDescription {
  format: "probegen-probes";
  version: 1;
  run: string;
  checkpoint: string;
  method: string;
  family: string;
  count: number;
  shape: number[];
  dtype: "float32";
  valueRange: { min: number; max: number };
  input: string;
  responses: { shape: (string | number)[]; dtype: "float32"; order: string; meaning: string };
  files: { npy: string; safetensors: string };
}

/** The K probes as float32 [K, ...probeShape]. */
export function runProbes(run: TrainedRun): Float32Array {
  const source = run.probeSource();
  return noGrad(() => tidy(() => Float32Array.from(source.forward().data)));
}

export function exportProbes(run: TrainedRun, out: string): ExportReport & { description: ProbesDescription } {
  run.requireOutputsOnly("exported probes");
  // The probes first: a run that cannot give them (statnn) fails before any folder is made.
  const values = runProbes(run);
  const folder = ExportFolder.start(out, { format: "probes", run: resolve(run.dir), checkpoint: run.checkpoint });
  const shape = [run.probes, ...run.probeShape];
  let min = Infinity, max = -Infinity;
  for (const v of values) { min = Math.min(min, v); max = Math.max(max, v); }
  const inr = run.runFile.family === "siren";
  const out1 = run.outputsPerProbe;
  const description: ProbesDescription = {
    format: "probegen-probes", version: 1,
    run: resolve(run.dir), checkpoint: run.checkpoint, method: run.runFile.config.method, family: run.runFile.family,
    count: run.probes, shape, dtype: "float32", valueRange: { min, max },
    input: inr
      ? `${run.probes} coordinates of ${run.probeShape[0]} values, in the INRs' own input space (their training grid spans [-1, 1] per axis, (row, column) order as DWSNets)`
      : `${run.probes} images [${run.probeShape.join(", ")}] (channels, height, width) in the networks' input space${run.runFile.dataset === "mnist" || run.runFile.dataset === "fmnist" ? ` (${CNN_INPUT_DESCRIPTION})` : ", prepared as the networks' training images were"}`,
    responses: {
      shape: ["N", run.probes, out1], dtype: "float32", order: "C (row-major): responses[n][k][o]",
      meaning: inr
        ? "network n's output on probe k: the INR's value, its +0.5 output offset included (as DWSNets' forward adds it)"
        : `network n's ${out1} logits on probe k, before any softmax`,
    },
    files: { npy: "probes.npy", safetensors: "probes.safetensors" },
  };
  const header = npyHeader(shape);
  const npy = new Uint8Array(header.length + values.byteLength);
  npy.set(header);
  npy.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), header.length);
  const report = folder.finish([
    [join(out, "probes.npy"), npy],
    [join(out, "probes.safetensors"), encodeSafetensors([["probes", { shape, data: values }]], { format: "probegen-probes", run: description.run })],
    [join(out, "probes.json"), `${JSON.stringify(description, null, 2)}\n`],
  ], run.probes);
  return { ...report, description };
}
