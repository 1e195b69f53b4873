// What the head sees of each network. Two kinds: the network's answers to probes (ProbeGen,
// vanilla and fixed probes), or statistics of its weights (the statnn baseline).
import type { Tensor } from "../engine/index.js";
import type { ProbeInit } from "./config.js";
import type { BlackBoxRequest } from "./probe-representation.js";
import type { Readout } from "./readouts.js";
import type { ZooData } from "./zoo-data.js";

export interface Representation {
  /** Features per network (the head's input size). */
  readonly features: number;
  /** What the head reads of each answer (readouts.ts; "logits" for weight statistics). */
  readonly readout: Readout;
  /** What the probes started from (probe-init.ts; "random" where there is no generator). */
  readonly start: Exclude<ProbeInit, "auto">;
  /** [indices.length, features] for the networks of `data` at `indices` (tensors in the current scope). */
  represent(data: ZooData, indices: ArrayLike<number>): Tensor;
  /** How many networks one evaluation pass may take within its memory budget. */
  networksPerPass(): number;
  /** Forward FLOPs to represent one network (the mean over the zoo's networks). */
  flopsPerNetwork(): number;
  /** Tensors the optimiser trains, by name. */
  trainable(): [string, Tensor][];
  /** Tensors a checkpoint keeps, by name: the trainable ones and fixed state (e.g. standardisation). */
  saved(): [string, Tensor][];
  /** How a training step over `indices` splits into passes within its memory budget: positions into
   * `indices`, one pass of them all when it fits (checkpointed-step.ts). */
  stepPasses(data: ZooData, indices: ArrayLike<number>): number[][];
  /** The probes a step shares between its passes (made once, their gradient summed), or null when
   * there are none to share (fixed probes, weight statistics). */
  stepProbes(): Tensor | null;
  /** represent() on the step's shared probes (stepProbes()'s tensor; null: as represent()). */
  representOn(data: ZooData, indices: ArrayLike<number>, probes: Tensor | null): Tensor;
  /** The zoo's black-box networks, for onnxruntime to answer before represent() can (null: none; absent: the representation takes none). */
  blackBoxRequest?(data: ZooData): BlackBoxRequest | null;
}
