// What a zoo holds, in numbers: counts per split, labels, fit quality and size on disk.
import { isBlackBoxSpec, parseBlackBoxSpec } from "../nets/onnx-black-box.js";
import { SPLIT_NAMES, parameterSize, rangesSize, type ShardData, type SplitName, type Zoo, type ZooManifest } from "./format.js";

export interface ZooSummary {
  dir: string;
  family: string;
  count: number;
  splits: Record<SplitName, number>;
  /** Classification zoos: networks per label name. */
  labels?: Record<string, number>;
  /** Categorical fields (those with codes): networks per value name. */
  categories: Record<string, Record<string, number>>;
  /** Quantiles 0, 25, 50, 75, 100% of each numeric metadata field (e.g. psnr, steps). */
  quantiles: Record<string, [number, number, number, number, number]>;
  means: Record<string, number>;
  bytes: number;
  /** Parameters of a network (the mean, in a zoo of several architectures). */
  parametersPerNetwork: number;
  architectures: number;
  /** Networks holding a NaN or infinite parameter: index, the first such parameter, and its shard file. */
  nonFinite: { index: number; parameter: string; shard: string }[];
  provenance: Record<string, unknown>;
  /** An ONNX zoo's graph structures (its architectures): white-box or black-box, and why. */
  graphs?: OnnxGraphSummary[];
}

export interface OnnxGraphSummary {
  networks: number;
  /** Run by probegen's engine (white-box), or by onnxruntime on fixed probes (black-box). */
  whiteBox: boolean;
  /** The probe's shape (the input after its batch). */
  input: number[];
  /** White-box: the engine's steps, counted by kind. */
  steps?: Record<string, number>;
  /** Black-box: the first node the engine cannot run, its op, and why. */
  blackBox?: { node: string; opType: string; reason: string };
}

/** Each graph structure of an ONNX zoo, given each network's architecture index. */
export function onnxGraphs(m: ZooManifest, architecture: ArrayLike<number>): OnnxGraphSummary[] {
  return m.architectures.map((a, k) => {
    let networks = 0;
    for (let i = 0; i < architecture.length; i++) if (architecture[i] === k) networks++;
    if (isBlackBoxSpec(a.architecture)) {
      const b = parseBlackBoxSpec(a.architecture, `architectures[${k}].architecture`);
      return { networks, whiteBox: false, input: b.input.shape, blackBox: b.blackBox };
    }
    const spec = a.architecture as { input?: { shape?: number[] }; steps?: { op: string }[] };
    const steps: Record<string, number> = {};
    for (const st of spec.steps ?? []) steps[st.op] = (steps[st.op] ?? 0) + 1;
    return { networks, whiteBox: true, input: spec.input?.shape ?? [], steps };
  });
}

export function quantiles(values: ArrayLike<number>): [number, number, number, number, number] {
  const s = Array.from(values).sort((a, b) => a - b);
  const q = (p: number) => {
    if (s.length === 0) return NaN;
    const x = p * (s.length - 1), i = Math.floor(x), f = x - i;
    return i + 1 < s.length ? s[i] * (1 - f) + s[i + 1] * f : s[i];
  };
  return [q(0), q(0.25), q(0.5), q(0.75), q(1)];
}

/** Shard-local indices of networks holding a non-finite parameter, with the first such parameter. */
function nonFiniteNetworks(m: ZooManifest, shard: ShardData): [number, string][] {
  const out = new Map<number, string>();
  shard.groups.forEach((g, k) => {
    const members: number[] = [];
    shard.architecture.forEach((a, j) => { if (a === k) members.push(j); });
    for (const p of m.architectures[k].parameters) {
      const values = g.get(p.name);
      if (values === undefined) continue;
      const per = parameterSize(p);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) {
          const j = members[Math.floor(i / per)];
          if (!out.has(j)) out.set(j, p.name);
          i = (Math.floor(i / per) + 1) * per - 1;
        }
      }
    }
  });
  return [...out].sort((a, b) => a[0] - b[0]);
}

function meanParameters(zoo: Zoo, architecture: number[]): number {
  const sizes = zoo.manifest.architectures.map((a) => a.parameters.reduce((s, p) => s + parameterSize(p), 0));
  if (sizes.length === 1) return sizes[0];
  return architecture.reduce((s, k) => s + sizes[k], 0) / Math.max(1, architecture.length);
}

export function summarizeZoo(zoo: Zoo): ZooSummary {
  const m = zoo.manifest;
  const fields = new Map<string, number[]>(m.fields.map((f) => [f.name, []]));
  const architecture: number[] = [];
  const nonFinite: ZooSummary["nonFinite"] = [];
  m.shards.forEach((sh, i) => {
    const shard = zoo.readShard(i);
    // Loops rather than push(...x): a spread of a large shard would overflow the call stack.
    for (const a of shard.architecture) architecture.push(a);
    for (const [k, parameter] of nonFiniteNetworks(m, shard)) nonFinite.push({ index: sh.start + k, parameter, shard: sh.file });
    for (const [name, values] of shard.fields) { const list = fields.get(name)!; for (let j = 0; j < values.length; j++) list.push(values[j]); }
  });
  const summary: ZooSummary = {
    dir: zoo.dir,
    family: m.family,
    count: m.count,
    splits: Object.fromEntries(SPLIT_NAMES.map((s) => [s, rangesSize(m.splits[s])])) as Record<SplitName, number>,
    quantiles: {},
    means: {},
    categories: {},
    bytes: zoo.bytes(),
    parametersPerNetwork: meanParameters(zoo, architecture),
    architectures: m.architectures.length,
    nonFinite,
    provenance: m.provenance,
    ...(m.family === "onnx" ? { graphs: onnxGraphs(m, architecture) } : {}),
  };
  if (m.task.kind === "classification" && fields.has("label")) {
    const names = m.task.labelNames ?? [];
    summary.labels = Object.fromEntries(names.map((n) => [n, 0]));
    for (const l of fields.get("label")!) summary.labels[names[l] ?? String(l)] = (summary.labels[names[l] ?? String(l)] ?? 0) + 1;
  }
  for (const f of m.fields) {
    // The architecture index per network is counted by the graph or architecture lines, not summarised.
    if (f.name === "label" || f.name.startsWith("source_") || f.name === (m.architectureField ?? "architecture")) continue;
    if (f.codes !== undefined) {
      const counts: Record<string, number> = Object.fromEntries(f.codes.map((c) => [c, 0]));
      for (const v of fields.get(f.name)!) counts[f.codes[v] ?? String(v)] = (counts[f.codes[v] ?? String(v)] ?? 0) + 1;
      summary.categories[f.name] = counts;
      continue;
    }
    const v = fields.get(f.name)!;
    summary.quantiles[f.name] = quantiles(v);
    summary.means[f.name] = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  }
  return summary;
}
