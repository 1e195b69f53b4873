// Zoos of one family, architecture and fields made one: INRs fitted two ways trained on together,
// say. Networks keep their order, zoo after zoo, and each keeps its split. The merge goes through
// the shard build like any other (one shard per source shard, re-encoded at its new place), so
// an interrupted merge resumes, and a folder holding anything else is refused.
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { ZooFormatError, Zoo, encodeShard, soleArchitecture, type Ranges, type SplitName, type ZooManifest } from "./format.js";
import { openShardBuild, type ShardBuildReport } from "./shard-build.js";

/** The merged zoo's manifest; refuses zoos that differ in what a zoo of one architecture must share. */
export function mergedManifest(zoos: readonly Zoo[]): ZooManifest {
  if (zoos.length < 2) throw new RangeError("zoo merge needs two zoos or more");
  const first = zoos[0].manifest;
  const same = (what: string, f: (m: ZooManifest) => unknown) => {
    for (const z of zoos.slice(1)) {
      if (JSON.stringify(f(z.manifest)) !== JSON.stringify(f(first))) {
        throw new ZooFormatError(join(z.dir, "zoo.json"), `differs from ${join(zoos[0].dir, "zoo.json")} in its ${what}: zoos merge only when they share family, architecture, fields and task`);
      }
    }
  };
  for (const z of zoos) soleArchitecture(z.manifest, `zoo merge (${z.dir})`);
  same("family", (m) => m.family);
  same("architecture", (m) => m.architectures);
  same("fields", (m) => m.fields);
  same("per-network strings", (m) => m.strings);
  same("task", (m) => m.task);
  const splits: Record<SplitName, Ranges> = { train: [], val: [], test: [] };
  const shards: ZooManifest["shards"] = [];
  let offset = 0;
  for (const z of zoos) {
    const m = z.manifest;
    for (const name of Object.keys(splits) as SplitName[]) for (const [a, b] of m.splits[name]) splits[name].push([a + offset, b + offset]);
    for (const s of m.shards) shards.push({ file: `shard-${String(shards.length).padStart(5, "0")}.safetensors`, start: s.start + offset, count: s.count });
    offset += m.count;
  }
  const datasets = new Set(zoos.map((z) => z.manifest.provenance.dataset));
  return {
    ...first, count: offset, splits, shards,
    provenance: {
      builder: "probegen zoo merge",
      ...(datasets.size === 1 && first.provenance.dataset !== undefined ? { dataset: first.provenance.dataset } : {}),
      merged: zoos.map((z) => ({ count: z.manifest.count, provenance: z.manifest.provenance })),
    },
  };
}

/** Writes the merge of `dirs` to `out` (resumable: a rerun keeps the shards already written). */
export function mergeZoos(dirs: readonly string[], out: string): ShardBuildReport {
  const zoos = dirs.map((d) => Zoo.open(d));
  const manifest = mergedManifest(zoos);
  const source: { zoo: Zoo; shard: number }[] = zoos.flatMap((zoo) => zoo.manifest.shards.map((_, shard) => ({ zoo, shard })));
  const build = openShardBuild<null>(out, manifest);
  if (build.pending === null) return build.finish(0);
  let built = 0;
  try {
    for (const i of build.pending) {
      const { zoo, shard } = source[i];
      const data = zoo.readShard(shard);
      const arch = manifest.architectures[0];
      const networks = Array.from({ length: data.count }, (_, j) => ({
        params: arch.parameters.map((p) => {
          const per = p.shape.reduce((a, b) => a * b, 1);
          return data.params.get(p.name)!.subarray(j * per, (j + 1) * per);
        }),
      }));
      const fields = Object.fromEntries([...data.fields].map(([k, v]) => [k, v]));
      const strings = Object.fromEntries([...data.strings].map(([k, v]) => [k, v]));
      writeFileAtomic(join(out, manifest.shards[i].file), encodeShard(manifest, i, networks, fields, strings));
      built += data.count;
      build.onDone(null);
    }
  } catch (e) {
    build.abandon();
    throw e;
  }
  return build.finish(built);
}

