// Black-box ONNX models: any graph, run by onnxruntime (the CPU build inside the onnxruntime-node
// package) on a run's probes. No gradients reach the probes this way, so black-box models take
// fixed probes or a trained run's probes, and what they answer feeds the run's head. The model
// is read and checked by probegen's own reader first (src/io/onnx.ts): onnxruntime only ever
// sees a file that reader accepted.
import { createRequire } from "node:module";
import { firstNonFinite } from "../engine/index.js";
import { FileFormatError } from "../file-error.js";
import { readOnnx } from "../io/onnx.js";

// onnxruntime-node is CommonJS; loaded on first use, so commands that never run a black-box
// model never load its native library.
type Ort = typeof import("onnxruntime-node");
let ort: Ort | null = null;
function runtime(): Ort {
  ort ??= createRequire(import.meta.url)("onnxruntime-node") as Ort;
  return ort;
}

export class BlackBoxError extends FileFormatError {}

/**
 * A model's answers to K probes [K, ...probeShape]: [K * outputs] floats. The model must take one
 * float input of the probes' shape after its first dimension (the batch: dynamic, or fixed at 1
 * or K) and give `outputs` values per probe.
 */
export async function onnxAnswers(file: string, probes: Float32Array, probeShape: readonly number[], outputs: number, threads = 1): Promise<Float32Array> {
  const model = readOnnx(file);
  const g = model.graph;
  if (g.inputs.length !== 1 || g.outputs.length < 1) throw new BlackBoxError(file, `takes ${g.inputs.length} inputs and gives ${g.outputs.length} outputs; probing feeds one input and reads the first output`);
  const input = g.inputs[0];
  const per = probeShape.reduce((a, b) => a * b, 1);
  const K = probes.length / per;
  if (input.dtype !== "float32") throw new BlackBoxError(file, `its input '${input.name}' is ${input.dtype ?? "untyped"}; probes are float32`);
  const declared = input.shape;
  if (declared !== null && (declared.length !== probeShape.length + 1 || declared.slice(1).some((d, i) => typeof d === "number" && d !== probeShape[i]))) {
    throw new BlackBoxError(file, `its input '${input.name}' is [${declared.join(",")}]; the run's probes are [K,${probeShape.join(",")}]`);
  }
  const batch = declared?.[0];
  // A fixed batch other than K: one probe at a time (a batch of 1), or refused.
  const step = typeof batch === "number" ? batch : K;
  if (step !== K && step !== 1) throw new BlackBoxError(file, `its input's batch is fixed at ${batch}; the run has ${K} probes (a dynamic batch, 1 or ${K} works)`);
  const o = runtime();
  const session = await o.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ["cpu"], graphOptimizationLevel: "all" });
  try {
    const out = new Float32Array(K * outputs);
    for (let k = 0; k < K; k += step) {
      // A copy: onnxruntime refuses views of other memory (probegen's tensor memory among them).
      const x = new o.Tensor("float32", probes.slice(k * per, (k + step) * per), [step, ...probeShape]);
      const result = await session.run({ [input.name]: x });
      const y = result[g.outputs[0].name];
      if (y === undefined || y.type !== "float32") throw new BlackBoxError(file, `gave no float32 output '${g.outputs[0].name}'`);
      const data = y.data as Float32Array;
      if (data.length !== step * outputs) throw new BlackBoxError(file, `gave ${data.length / step} values per probe; the run's networks give ${outputs}`);
      out.set(data, k * outputs);
    }
    const bad = firstNonFinite(out);
    if (bad >= 0) throw new BlackBoxError(file, `answered probe ${Math.floor(bad / outputs)} with ${out[bad]}`);
    return out;
  } finally {
    await session.release();
  }
}

/**
 * onnxAnswers for many files, `parallel` at a time (each session on one thread: small models
 * gain more from running side by side than from splitting one model's ops), in order.
 */
export async function onnxAnswersMany(files: readonly string[], probes: Float32Array, probeShape: readonly number[], outputs: number, parallel = 1): Promise<Float32Array[]> {
  const out: Float32Array[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) out[i] = await onnxAnswers(files[i], probes, probeShape, outputs, 1);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, files.length)) }, worker));
  return out;
}
