// Network families a zoo can hold. An architecture as zoo.json records it is checked by its
// family and bound to it: the result knows its probe shape, outputs and cost, and evaluates a
// batch of its networks on probes. Probing code goes through this, never through a family's
// own module, and never sees an unchecked architecture.
import { reshape, type ActivationName, type Tensor } from "../engine/index.js";
import { parseSirenArchitecture, sirenFlopsPerPoint, sirenForward, sirenForwardHidden, sirenParameterShapes, type SirenArchitecture } from "./siren.js";
import { CNN_ACTIVATION_NAMES, cnnFeatureSizes, cnnFlopsPerImage, cnnForward, cnnForwardHidden, cnnParameterShapes, parseCnnArchitecture, withActivation, type CnnArchitecture } from "./cnn.js";
import { ArchitectureError, fieldsOf } from "./spec-check.js";
import { isBlackBoxSpec, parseBlackBoxSpec } from "./onnx-black-box.js";
import { onnxFlopsPerProbe, onnxForward, parseOnnxPlan } from "./onnx-graph.js";
import { withHiddenReadout } from "./hidden-readout.js";
import { parseResNetArchitecture, resnetActivationsPerImage, resnetFlopsPerImage, resnetForward, resnetForwardHidden, resnetHiddenLayers, resnetParameterShapes } from "./resnet.js";

/**
 * CNNs of one architecture; the architecture records its square input size, and optionally a
 * per-network activation: every layer of network i uses names[fields[field][i]].
 */
export type SizedCnnArchitecture = CnnArchitecture & { inputSize: number; activationByField?: { field: string; names: ActivationName[] } };

/** An architecture checked and bound to its family. */
export interface NetworkArchitecture {
  readonly family: string;
  /** The architecture as recorded. */
  readonly spec: Readonly<Record<string, unknown>>;
  /** Parameter names and per-network shapes, state-dict order. */
  readonly parameters: [string, number[]][];
  /** Shape of one probe input: [2] for coordinates, [C, H, W] for images. */
  readonly probeShape: number[];
  /** Outputs per probe (1 for an INR, the logits of a classifier). */
  readonly outputsPerProbe: number;
  /** Forward FLOPs of one network on one probe. */
  readonly flopsPerProbe: number;
  /** Values one network's layers hold for one probe (what a forward keeps in memory). */
  readonly activationsPerProbe: number;
  /**
   * Zoos whose networks differ in one way the weights do not show (e.g. the activation) name a
   * metadata field holding a code per network; null when all networks share the architecture.
   */
  readonly variantField: string | null;
  /**
   * A black-box network (nets/onnx-black-box.ts): the engine cannot run it, and onnxruntime
   * answers its probes before training; forward and forwardHidden refuse. Its FLOPs are unknown (0).
   */
  readonly blackBox: boolean;
  /** A CNN's architecture as the ragged forward takes it (networks of different CNN architectures evaluate together); null for other families. */
  readonly cnn: CnnArchitecture | null;
  /** The architecture of the networks whose variant field holds `code`. */
  variant(code: number): NetworkArchitecture;
  /** B networks (stacked params) on K shared probes [K, ...probeShape] -> [B, K, outputs]. */
  forward(params: ReadonlyMap<string, Tensor>, probes: Tensor): Tensor;
  /** Layers the hidden readout reads (hidden-readout.ts): conv layers, sine layers, a ResNet's stem and blocks. */
  readonly hiddenLayers: number;
  /** The hidden readout: [B, K, outputs + slots * CHANNEL_SUMMARY_STATS], slots >= hiddenLayers (a zoo's deepest network's). */
  forwardHidden(params: ReadonlyMap<string, Tensor>, probes: Tensor, slots: number): Tensor;
}

/** B networks on K probes -> representation [B, K * outputs], or with hidden slots the hidden readout's [B, K * (outputs + slots * CHANNEL_SUMMARY_STATS)]. */
export function represent(arch: NetworkArchitecture, params: ReadonlyMap<string, Tensor>, probes: Tensor, hiddenSlots?: number): Tensor {
  const out = hiddenSlots === undefined ? arch.forward(params, probes) : arch.forwardHidden(params, probes, hiddenSlots);
  return reshape(out, [out.shape[0], out.shape[1] * out.shape[2]]);
}

function siren(spec: Record<string, unknown>, path: string): NetworkArchitecture {
  const a: SirenArchitecture = parseSirenArchitecture(spec, path);
  const bound: NetworkArchitecture = {
    family: "siren", spec,
    parameters: sirenParameterShapes(a),
    probeShape: [a.inDim],
    outputsPerProbe: a.outDim,
    flopsPerProbe: sirenFlopsPerPoint(a),
    activationsPerProbe: a.hidden.reduce((s, h) => s + h, 0) + a.outDim,
    variantField: null,
    blackBox: false,
    cnn: null,
    variant: () => bound,
    forward: (params, probes) => sirenForward(a, params, probes),
    hiddenLayers: a.hidden.length,
    forwardHidden: (params, probes, slots) => sirenForwardHidden(a, params, probes, slots),
  };
  return bound;
}

export function parseSizedCnnArchitecture(spec: unknown, path = "architecture"): SizedCnnArchitecture {
  const a = parseCnnArchitecture(spec, path);
  const f = fieldsOf(spec, path);
  const sized: SizedCnnArchitecture = { ...a, inputSize: f.int("inputSize", 1) };
  if (f.optional("activationByField")) {
    const g = fieldsOf(f.record.activationByField, `${path}.activationByField`);
    const field = g.record.field;
    if (typeof field !== "string" || field === "") throw new ArchitectureError(`${path}.activationByField.field must name a field`);
    const names = g.list("names").map((n, i) => {
      if (!(CNN_ACTIVATION_NAMES as readonly unknown[]).includes(n)) throw new ArchitectureError(`${path}.activationByField.names[${i}] is ${JSON.stringify(n)}, expected one of ${CNN_ACTIVATION_NAMES.join(", ")}`);
      return n as ActivationName;
    });
    sized.activationByField = { field, names };
  }
  return sized;
}

function cnn(spec: Record<string, unknown>, path: string): NetworkArchitecture {
  const a = parseSizedCnnArchitecture(spec, path);
  const bind = (arch: SizedCnnArchitecture): NetworkArchitecture => ({
    family: "cnn", spec,
    parameters: cnnParameterShapes(arch),
    probeShape: [arch.inChannels, arch.inputSize, arch.inputSize],
    outputsPerProbe: arch.classes,
    flopsPerProbe: cnnFlopsPerImage(arch, arch.inputSize),
    activationsPerProbe: cnnFeatureSizes(arch, arch.inputSize).reduce((s, size, i) => s + arch.layers[i].channels * size * size, 0) + arch.classes,
    variantField: arch.activationByField?.field ?? null,
    blackBox: false,
    cnn: arch,
    variant(code) {
      const name = arch.activationByField?.names[code];
      if (name === undefined) throw new RangeError(`activation code ${code} is not one of ${JSON.stringify(arch.activationByField?.names ?? [])}`);
      return bind({ ...withActivation(arch, name), activationByField: undefined });
    },
    forward: (params, probes) => cnnForward(arch, params, probes),
    hiddenLayers: arch.layers.length,
    forwardHidden: (params, probes, slots) => cnnForwardHidden(arch, params, probes, slots),
  });
  return bind(a);
}

function resnet(spec: Record<string, unknown>, path: string): NetworkArchitecture {
  const a = parseResNetArchitecture(spec, path);
  const bound: NetworkArchitecture = {
    family: "resnet", spec,
    parameters: resnetParameterShapes(a),
    probeShape: [a.inChannels, a.inputSize, a.inputSize],
    outputsPerProbe: a.classes,
    flopsPerProbe: resnetFlopsPerImage(a, a.inputSize),
    activationsPerProbe: resnetActivationsPerImage(a, a.inputSize),
    variantField: null,
    blackBox: false,
    cnn: null,
    variant: () => bound,
    forward: (params, probes) => resnetForward(a, params, probes),
    hiddenLayers: resnetHiddenLayers(a),
    forwardHidden: (params, probes, slots) => resnetForwardHidden(a, params, probes, slots),
  };
  return bound;
}

/** An ONNX graph planned for the engine (nets/onnx-graph.ts); its hidden layers are its per-network activations. */
function onnx(spec: Record<string, unknown>, path: string): NetworkArchitecture {
  if (isBlackBoxSpec(spec)) return blackBox(spec, path);
  const plan = parseOnnxPlan(spec, path);
  const outputs = plan.output.shape.reduce((a, b) => a * b, 1);
  const hidden = plan.steps.filter((st) => (st.op === "activation" || (st.op === "conv" && st.relu)) && plan.perNetwork.has(st.output)).map((st) => st.output);
  const flat = (out: Tensor) => reshape(out, [out.shape[0], out.shape[1], outputs]);
  const bound: NetworkArchitecture = {
    family: "onnx", spec,
    parameters: plan.parameters.map((p) => [p.name, p.shape]),
    probeShape: plan.input.shape,
    outputsPerProbe: outputs,
    flopsPerProbe: onnxFlopsPerProbe(plan),
    activationsPerProbe: [...plan.shapes.values()].reduce((s, shape) => s + shape.reduce((a, b) => a * b, 1), 0),
    variantField: null,
    blackBox: false,
    cnn: null,
    variant: () => bound,
    forward: (params, probes) => flat(onnxForward(plan, params, probes)),
    hiddenLayers: hidden.length,
    forwardHidden(params, probes, slots) {
      const layers: Tensor[] = [];
      const out = onnxForward(plan, params, probes, (name, t) => {
        // A layer's maps [B, K, C, ...]; a vector layer [B, K, F] is F channels of one value.
        if (hidden.includes(name) && t.rank >= 3) layers.push(t.rank === 3 ? reshape(t, [...t.shape, 1]) : t);
      });
      return withHiddenReadout(flat(out), layers, slots);
    },
  };
  return bound;
}

/** A black-box ONNX graph: its probe interface, and why the engine cannot run it. */
function blackBox(spec: Record<string, unknown>, path: string): NetworkArchitecture {
  const b = parseBlackBoxSpec(spec, path);
  const refuse = (): never => {
    throw new ArchitectureError(`${path}: black-box networks (the engine cannot run ${b.blackBox.opType || "their graph"}) are answered by onnxruntime on fixed probes, not evaluated here`);
  };
  const bound: NetworkArchitecture = {
    family: "onnx", spec,
    parameters: [],
    probeShape: b.input.shape,
    outputsPerProbe: b.outputs,
    flopsPerProbe: 0,
    activationsPerProbe: 0,
    variantField: null,
    blackBox: true,
    cnn: null,
    variant: () => bound,
    forward: refuse,
    hiddenLayers: 0,
    forwardHidden: refuse,
  };
  return bound;
}

const families = new Map<string, (spec: Record<string, unknown>, path: string) => NetworkArchitecture>([["siren", siren], ["cnn", cnn], ["resnet", resnet], ["onnx", onnx]]);

export const FAMILY_NAMES: readonly string[] = [...families.keys()];

/** Checks an architecture of `family` and binds it; ArchitectureError names what is wrong. */
export function networkArchitecture(family: string, spec: unknown, path = "architecture"): NetworkArchitecture {
  const make = families.get(family);
  if (make === undefined) throw new ArchitectureError(`network family "${family}" is not supported (known: ${FAMILY_NAMES.join(", ")})`);
  return make(fieldsOf(spec, path).record, path);
}
