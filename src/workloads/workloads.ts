// The benchmark workloads, defined once for the benchmarks and the PyTorch fixture tests.
// W1: 32 SIRENs x 64 probes from the coordinate generator, 6-layer head, cross-entropy.
// W2: 32 small CNNs x 64 probes from the 5-layer transposed-conv generator, head input 640,
//     one output, MSE.
// W4: W2 on 32 CNN Wild Park networks of drawn architectures (one ragged batch).
// W2 and W4 with the hidden readout: the same, each layer's channel summaries beside the logits.
import { Adam, Tensor, backward, crossEntropy, mseLoss, reshape, tidy, Rng, type HasParameters } from "../engine/index.js";
import { DWSNETS_SIREN, sirenForward, sirenParameterShapes } from "../nets/siren.js";
import { smallCnnZooArchitecture } from "../nets/small-cnn.js";
import { cnnForward, cnnForwardHidden, cnnParameterShapes } from "../nets/cnn.js";
import { hiddenFeaturesPerProbe } from "../nets/hidden-readout.js";

type Readout = "logits" | "hidden";
import { CoordinateGenerator } from "../probes/coordinate-generator.js";
import { ImageGenerator } from "../probes/image-generator.js";
import { MlpHead } from "../train/head.js";
import { WILD_PARK_SPACE, drawWildParkArchitecture } from "../zoo/build/wild-park-architecture.js";
import { torchDefaultInit } from "../zoo/build/wild-park-train.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout } from "../nets/ragged-cnn.js";

export interface Workload {
  readonly name: string;
  /** Trainable tensors by PyTorch name: latents, gen.*, head.* */
  readonly params: Map<string, Tensor>;
  /** Frozen zoo tensors stacked over networks. */
  readonly zoo: Map<string, Tensor>;
  readonly labels: number[];
  /** Generator output for this step. */
  probes(): Tensor;
  /** Head output for the batch of networks. */
  forward(): Tensor;
  /** Scalar loss of the batch. */
  loss(): Tensor;
}

function named(...mods: HasParameters[]): Map<string, Tensor> {
  return new Map(mods.flatMap((m) => m.namedParameters()));
}

function stackedZoo(shapes: [string, number[]][], B: number, fill: (name: string, shape: number[], out: Float32Array) => void): Map<string, Tensor> {
  return new Map(shapes.map(([name, shape]) => {
    const t = Tensor.empty([B, ...shape], { persistent: true });
    fill(name, shape, t.data);
    return [name, t];
  }));
}

export function makeW1(seed = 0, B = 32, K = 64): Workload {
  const rng = new Rng(seed, "w1");
  const gen = new CoordinateGenerator(K, 2, rng.fork("gen"));
  const head = new MlpHead(K, 10, rng.fork("head"));
  const zrng = rng.fork("zoo");
  const zoo = stackedZoo(sirenParameterShapes(DWSNETS_SIREN), B, (name, shape, out) => {
    // SIREN initialisation: first layer U(-1/in, 1/in), later ones U(-sqrt(6/in)/30, sqrt(6/in)/30).
    const bound = name === "seq.0.weight" ? 1 / shape[1] : Math.sqrt(6 / shape[shape.length - 1]) / 30;
    if (name.endsWith("bias")) zrng.fillUniform(out, -0.1, 0.1);
    else zrng.fillUniform(out, -bound, bound);
  });
  const labels = Array.from({ length: B }, () => zrng.int(10));
  const forward = () => {
    const out = sirenForward(DWSNETS_SIREN, zoo, gen.forward()); // [B, K, 1]
    return head.forward(reshape(out, [B, K]));
  };
  return {
    name: "W1", params: named(gen, head), zoo, labels,
    probes: () => gen.forward(),
    forward,
    loss: () => crossEntropy(forward(), labels),
  };
}

export function makeW2(seed = 0, B = 32, K = 64, readout: Readout = "logits"): Workload {
  const rng = new Rng(seed, "w2");
  const gen = new ImageGenerator(K, rng.fork("gen"));
  const slots = readout === "hidden" ? 3 : 0;
  const per = 10 + hiddenFeaturesPerProbe(slots);
  const head = new MlpHead(K * per, 1, rng.fork("head"));
  const zrng = rng.fork("zoo");
  const arch = smallCnnZooArchitecture();
  const zoo = stackedZoo(cnnParameterShapes(arch), B, (name, shape, out) => {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    if (name.endsWith("bias")) zrng.fillNormal(out, 0, 0.05);
    else zrng.fillNormal(out, 0, Math.sqrt(2 / fanIn));
  });
  const labels = Array.from({ length: B }, () => zrng.uniform());
  const forward = () => {
    const out = slots > 0 ? cnnForwardHidden(arch, zoo, gen.forward(), slots) : cnnForward(arch, zoo, gen.forward()); // [B, K, per]
    return head.forward(reshape(out, [B, K * per]));
  };
  return {
    name: readout === "hidden" ? "W2 (hidden readout)" : "W2", params: named(gen, head), zoo, labels,
    probes: () => gen.forward(),
    forward,
    loss: () => mseLoss(forward(), labels),
  };
}

export function makeW4(seed = 0, B = 32, K = 64, readout: Readout = "logits"): Workload {
  const rng = new Rng(seed, "w4");
  const gen = new ImageGenerator(K, rng.fork("gen"));
  // The head is drawn after the zoo for the hidden readout, whose size the zoo's depth sets;
  // the logits workload keeps its draws as they always were.
  const headRng = rng.fork("head");
  const zrng = rng.fork("zoo");
  const archs = Array.from({ length: B }, () => drawWildParkArchitecture(WILD_PARK_SPACE, zrng, 1, 10));
  const layout = raggedCnnLayout(archs);
  const inits = archs.map((a, n) => {
    const p = torchDefaultInit(a, zrng.fork(`init:${n}`));
    return new Map(cnnParameterShapes(a).map(([name], i) => [name, p[i]]));
  });
  const packed = packRaggedCnn(layout, (n, name) => inits[n].get(name)!, { persistent: true });
  const labels = Array.from({ length: B }, () => zrng.uniform());
  const slots = readout === "hidden" ? layout.layers.length : 0;
  const per = 10 + hiddenFeaturesPerProbe(slots);
  const head = new MlpHead(K * per, 1, headRng);
  const forward = () => {
    const out = cnnForwardRagged(layout, packed, gen.forward(), slots > 0 ? { hiddenSlots: slots } : {}); // [B, K, per]
    return head.forward(reshape(out, [B, K * per]));
  };
  return {
    name: readout === "hidden" ? "W4 (hidden readout)" : "W4", params: named(gen, head), zoo: new Map([["fc.weight", packed.fcWeight]]), labels,
    probes: () => gen.forward(),
    forward,
    loss: () => mseLoss(forward(), labels),
  };
}

/** A training step (forward, backward, Adam) bound to a workload. Returns the loss. */
export function trainer(w: Workload, lr = 3e-4): () => number {
  const opt = new Adam([...w.params.values()], { lr });
  return () => {
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = w.loss();
      backward(l);
      return l.item();
    });
    opt.step();
    return loss;
  };
}

