// Seeded pseudo-random numbers.
//
// Algorithm (stable across versions; changing it changes every seeded result):
// - The 32-bit seed (and an optional stream label, hashed with FNV-1a) is expanded into the
//   128-bit state of xoshiro128** by four rounds of SplitMix32.
// - next() is xoshiro128** (Blackman & Vigna, 2018): a uint32.
// - uniform() = (next() >>> 8) * 2^-24, a float32-exact value in [0, 1).
// - normal() is Box-Muller on two uniforms (u1 mapped to (0, 1]); both variates are used, the
//   second cached for the next call.
// - int(n) is the multiply-shift map floor(next() * n / 2^32).

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [state, z >>> 0];
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/**
 * Fisher-Yates in place, from the last position down, swapping position i with below(i + 1)
 * (an integer in [0, i]); Python's random.shuffle walks the same way.
 */
export function fisherYates<A extends unknown[] | Int32Array | Uint32Array>(a: A, below: (n: number) => number): A {
  for (let i = a.length - 1; i > 0; i--) {
    const j = below(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;
  readonly seed: number;

  /** seed: any integer (taken mod 2^32); stream: an optional label giving an independent stream. */
  constructor(seed: number, stream = "") {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng: seed must be a finite number, got ${seed}`);
    this.seed = seed;
    let st = (Math.trunc(seed) ^ fnv1a(stream)) | 0;
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [s, z] = splitmix32(st);
      st = s;
      out.push(z | 0);
    }
    [this.s0, this.s1, this.s2, this.s3] = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A generator from this one's seed and `label` alone: the parent's own stream label is not
   * part of it, so r.fork("x") is new Rng(r.seed, "x") whatever stream r is. Name streams in
   * full (e.g. `cnn:${index}:init`) where several parents share a seed.
   */
  fork(label: string): Rng {
    return new Rng(this.seed, label);
  }

  /** Writes the generator's 4 state words to out[at..at+4) (for a kernel that draws as next() does). */
  saveState(out: Int32Array, at = 0): void {
    out[at] = this.s0; out[at + 1] = this.s1; out[at + 2] = this.s2; out[at + 3] = this.s3;
  }

  /** Takes the 4 state words saveState wrote, after a kernel advanced them. */
  loadState(src: Int32Array, at = 0): void {
    this.s0 = src[at] | 0; this.s1 = src[at + 1] | 0; this.s2 = src[at + 2] | 0; this.s3 = src[at + 3] | 0;
  }

  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * ((this.next() >>> 8) * 5.960464477539063e-8);
  }

  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return mean + std * v;
    }
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return mean + std * r * Math.cos(2 * Math.PI * u2);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() * n) / 4294967296);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<A extends unknown[] | Int32Array | Uint32Array>(a: A): A {
    return fisherYates(a, (n) => this.int(n));
  }

  fillUniform(out: Float32Array, lo = 0, hi = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }
}
