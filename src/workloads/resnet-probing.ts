// W5: probing at the scale of the paper's ResNet-18 zoo. One training step of 32 ResNet-18s
// (width 64, CIFAR stem, 32x32 RGB) x 64 probes from deep_linear_5, the 6-layer head, MSE. The
// batch's feature maps (about 450 MB per network) do not fit in one pass, so the step is
// checkpointed over networks as training does (train/checkpointed-step.ts), within the
// backend's pass budget (passBudgetFloats: larger on native, whose memory passes 4 GiB); the
// networks' weights stay outside the WASM memory, as a zoo's do, and each pass gathers its own.
// Beside the time: FLOPs per represented network against a Neural-Graphs message-passing
// network over every neuron, across widths.
import { getRuntime, mseLoss, passBudgetFloats, reshape, Rng, Tensor } from "../engine/index.js";
import { resnet18, resnetActivationsPerImage, resnetConvs, resnetFlopsPerImage, resnetForward, resnetParameterShapes, type ResNetArchitecture } from "../nets/resnet.js";
import { messagePassingFlops, messagePassingStateFloats, NEURAL_GRAPHS_PNA, neuronGraph } from "../nets/neuron-graph-cost.js";
import { ImageGenerator } from "../probes/image-generator.js";
import { MlpHead } from "../train/head.js";
import { checkpointedStep, planPasses } from "../train/checkpointed-step.js";

export interface ResNetProbingFigures {
  width: number;
  networks: number;
  probes: number;
  /** Seconds of one training step (forward, backward, Adam not included) after a warm-up, and its passes. */
  stepSeconds: number;
  /** Seconds of the warm-up: the step's first pass alone, run first, so the timed step reuses memory a run has already touched. */
  warmupSeconds: number;
  passes: number;
  /** Peak tensor memory during the step (WASM heap), and peak resident memory of the process. */
  peakTensorMiB: number;
  peakRssMiB: number;
  /** Network FLOPs of the step: the passes' forwards, the recomputed forwards and their backward to the probes. */
  stepGFlops: number;
  gflopsPerSec: number;
  /** The paper's 6,000-model zoo: seconds per training epoch over all of it at this step rate. */
  epochSeconds6000: number;
  /** Per represented network, K probes against message passing over its neurons, by width. */
  perNetwork: ResNetCostRow[];
}

export interface ResNetCostRow {
  width: number;
  parameters: number;
  probingGFlops: number;
  graphGFlops: number;
  /** Node and edge states of one message-passing layer, MiB (float32). */
  graphStateMiB: number;
}

/** Cost of representing one ResNet-18 of each width on 32x32 inputs: K probes, or Neural Graphs' PNA. */
export function resnetCostTable(widths: readonly number[], probes = 64): ResNetCostRow[] {
  return widths.map((width) => {
    const arch = resnet18(width, "cifar", 10, 3);
    const layers = [...resnetConvs(arch).map((c) => ({ inChannels: c.inChannels, outChannels: c.outChannels, kernel: c.kernel })),
      { inChannels: width * 8, outChannels: arch.classes, kernel: 1 }];
    const g = neuronGraph(layers);
    return {
      width,
      parameters: resnetParameterShapes(arch).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0),
      probingGFlops: (probes * resnetFlopsPerImage(arch, 32)) / 1e9,
      graphGFlops: messagePassingFlops(g, NEURAL_GRAPHS_PNA) / 1e9,
      graphStateMiB: (4 * messagePassingStateFloats(g, NEURAL_GRAPHS_PNA)) / 2 ** 20,
    };
  });
}

/** Random ResNet weights with He-normal convolutions (the second of each block scaled down, so depth does not blow the logits up). */
function randomResNet(arch: ResNetArchitecture, rng: Rng): Map<string, Float32Array> {
  return new Map(resnetParameterShapes(arch).map(([name, shape]) => {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith("bias")) rng.fillNormal(v, 0, 0.01);
    else rng.fillNormal(v, 0, Math.sqrt(2 / shape.slice(1).reduce((a, b) => a * b, 1)) * (name.includes("conv2") ? 0.3 : 1));
    return [name, v];
  }));
}

export function resnetProbingBench(opts: { width?: number; networks?: number; probes?: number } = {}): ResNetProbingFigures {
  const width = opts.width ?? 64, B = opts.networks ?? 32, K = opts.probes ?? 64;
  const arch = resnet18(width, "cifar", 10, 3);
  const rng = new Rng(0, "w5");
  const nets = Array.from({ length: B }, (_, n) => randomResNet(arch, rng.fork(`net:${n}`)));
  const gen = new ImageGenerator(K, rng.fork("gen"), { channels: 3 });
  const head = new MlpHead(K * arch.classes, 1, rng.fork("head"));
  const targets = Array.from({ length: B }, () => rng.uniform());
  const shapes = resnetParameterShapes(arch);
  const gather = (positions: readonly number[]) => new Map(shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = Tensor.empty([positions.length, ...shape]);
    positions.forEach((p, i) => t.data.set(nets[p].get(name)!, i * size));
    return [name, t] as const;
  }));
  const passes = planPasses(Array.from({ length: B }, () => 3 * K * resnetActivationsPerImage(arch, 32)), passBudgetFloats("step"));
  const step = (over: number[][]) => checkpointedStep({
    probes: () => gen.forward(),
    passes: over,
    representPass: (at, probes) => {
      const logits = resnetForward(arch, gather(at), probes!);
      return reshape(logits, [at.length, K * arch.classes]);
    },
    loss: (r) => mseLoss(head.forward(r), targets.slice(0, r.shape[0])),
  });
  // A run's first step writes gigabytes of memory the process has never touched, and the page
  // faults cost more than its arithmetic (on a VM, 60% of a first step with 4 KiB pages). Every
  // later step reuses that memory, so the figure is of a step after the first pass has run once.
  const heap = getRuntime().heap;
  const w0 = performance.now();
  step([passes[0]]);
  const warmupSeconds = (performance.now() - w0) / 1000;
  const before = heap.stats().liveBytes;
  heap.resetPeak();
  const t0 = performance.now();
  const loss = step(passes);
  const stepSeconds = (performance.now() - t0) / 1000;
  if (!Number.isFinite(loss)) throw new Error(`W5: the loss is ${loss}`);
  // The forward of every pass, again with activations for every pass but the one that kept its
  // graph (checkpointed-step.ts), and the backward to the inputs (about one forward).
  const stepGFlops = ((3 - 1 / passes.length) * B * K * resnetFlopsPerImage(arch, 32)) / 1e9;
  const trainNetworks = 6000;
  return {
    width, networks: B, probes: K, stepSeconds, warmupSeconds, passes: passes.length,
    peakTensorMiB: (heap.stats().peakBytes - before) / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    stepGFlops, gflopsPerSec: stepGFlops / stepSeconds,
    epochSeconds6000: Math.ceil(trainNetworks / B) * stepSeconds,
    perNetwork: resnetCostTable([8, 16, 32, 64, 128], K),
  };
}
