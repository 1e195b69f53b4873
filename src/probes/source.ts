// Where probes come from. Every source makes K probe inputs; learned sources also take the
// gradient that flows back into those probes (backward() reaches their parameters).
import type { HasParameters, Tensor } from "../engine/index.js";

/** probegen and vanilla work on any input; uniform and grid make coordinates; dead-leaves and
 * data (real images) make images. */
export type ProbeMethod = "probegen" | "vanilla" | "uniform" | "grid" | "dead-leaves" | "data";
export const PROBE_METHODS: readonly ProbeMethod[] = ["probegen", "vanilla", "uniform", "grid", "dead-leaves", "data"];

/** How a network is represented to the head: by its answers to probes, or by weight statistics. */
export type RepresentationMethod = ProbeMethod | "statnn";
export const METHODS: readonly RepresentationMethod[] = [...PROBE_METHODS, "statnn"];

export interface ProbeSource extends HasParameters {
  readonly method: ProbeMethod;
  /** Number of probes K. */
  readonly count: number;
  /** Shape of one probe: [2] for coordinates, [C, H, W] for images. */
  readonly shape: readonly number[];
  /** Whether training changes the probes (false: only the head trains). */
  readonly learned: boolean;
  /** Each probe's class, for probes that have one (real images: data probes); absent or null otherwise. */
  readonly labels?: Int32Array | null;
  /** The K probes, [K, ...shape]; differentiable into the source's parameters when learned. */
  forward(): Tensor;
  /** Forward FLOPs to produce the probes once (shared by every network). */
  flops(): number;
}
