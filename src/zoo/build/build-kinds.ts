// The kinds of zoo probegen builds, each once: how it describes its build (the manifest, from the
// options alone) and how it builds shards on a worker thread. The local parallel build, the queue
// worker and the one worker-thread script (shard-worker.ts) all take a kind from here.
import { describeCnnBuild, trainCnnShards, type CnnZooOptions } from "./cnn-builder.js";
import { describeInrBuild, fitInrShards, type InrZooOptions } from "./inr-builder.js";
import { describeShapeInrBuild, fitShapeInrShards, type ShapeInrZooOptions } from "./shape-inr-builder.js";
import { describeWildParkBuild, trainWildParkShards, type WildParkZooOptions } from "./wild-park-builder.js";
import type { ZooManifest } from "../format.js";

export const BUILD_KINDS = ["inr", "cnn", "wild-park", "shape-inr"] as const;
export type BuildKind = (typeof BUILD_KINDS)[number];
export type KindOptions = InrZooOptions | CnnZooOptions | WildParkZooOptions | ShapeInrZooOptions;

export interface BuildKindDef {
  /** The build's manifest, from its options (nothing is read or written). */
  manifest(opts: never): ZooManifest;
  /** Builds and writes `shards`, posting each network's progress message. */
  buildShards(opts: never, shards: number[], post: (message: unknown) => void): void;
}

// INR progress messages leave the parameters behind: the shard is written by the worker.
const inrMessage = (r: { index: number; psnr: number; steps: number }) => ({ index: r.index, psnr: r.psnr, steps: r.steps, params: [] });

export const BUILD_KIND_DEFS: Readonly<Record<BuildKind, BuildKindDef>> = {
  inr: {
    manifest: (o: InrZooOptions) => describeInrBuild(o).manifest,
    buildShards: (o: InrZooOptions, shards, post) => { fitInrShards(describeInrBuild(o), shards, (r) => post(inrMessage(r))); },
  },
  cnn: {
    manifest: (o: CnnZooOptions) => describeCnnBuild(o).manifest,
    buildShards: (o: CnnZooOptions, shards, post) => { trainCnnShards(describeCnnBuild(o), shards, post); },
  },
  "wild-park": {
    manifest: (o: WildParkZooOptions) => describeWildParkBuild(o).manifest,
    buildShards: (o: WildParkZooOptions, shards, post) => { trainWildParkShards(describeWildParkBuild(o), shards, post); },
  },
  "shape-inr": {
    manifest: (o: ShapeInrZooOptions) => describeShapeInrBuild(o).manifest,
    buildShards: (o: ShapeInrZooOptions, shards, post) => { fitShapeInrShards(describeShapeInrBuild(o), shards, (r) => post(inrMessage(r))); },
  },
};

