// Python's random.Random (MT19937 seeded by init_by_array), far enough to reproduce
// random.Random(seed).shuffle and .random() bit for bit. Split files published with public zoos
// (NFN's Small CNN Zoo splits) were drawn with it, so a split computed here matches theirs.
import { fisherYates } from "../engine/random.js";

const N = 624, M = 397;

export class PythonRandom {
  private readonly mt = new Uint32Array(N);
  private mti = N + 1;

  /** As random.Random(seed) for a non-negative integer seed below 2^53. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`PythonRandom: seed must be a non-negative safe integer, got ${seed}`);
    }
    // CPython seeds with the 32-bit words of |seed|, least significant first ([0] for 0).
    const key: number[] = [];
    for (let v = seed; v > 0; v = Math.floor(v / 4294967296)) key.push(v % 4294967296);
    if (key.length === 0) key.push(0);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1, j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++; j++;
      if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
    }
    mt[0] = 0x80000000;
  }

  /** genrand_uint32 */
  nextU32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      const mag = (y: number) => ((y & 1) !== 0 ? 0x9908b0df : 0);
      for (; kk < N - M; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ mag(y);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7fffffff);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ mag(y);
      }
      const y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7fffffff);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ mag(y);
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** random.random(): 53 random bits in [0, 1). */
  random(): number {
    const a = this.nextU32() >>> 5, b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** random._randbelow(n) for 0 < n < 2^32: getrandbits(n.bit_length()) until below n. */
  randbelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967295) throw new RangeError(`randbelow: n must be in [1, 2^32), got ${n}`);
    const k = 32 - Math.clz32(n);
    for (;;) {
      const r = this.nextU32() >>> (32 - k);
      if (r < n) return r;
    }
  }

  /** random.shuffle(x), in place. */
  shuffle<A extends unknown[] | Int32Array>(x: A): A {
    return fisherYates(x, (n) => this.randbelow(n));
  }
}
