// The split protocol NFN (Zhou et al.) set for the Small CNN Zoo, which ProbeGen and later work
// follow: the second half of the networks (in file order) is the test split; the first half is
// shuffled with Python's random.Random(0) and cut into 80% train, 20% validation.
import { indicesToRanges, type Ranges, type SplitName } from "./format.js";
import { PythonRandom } from "./python-random.js";

export function nfnSplitIndices(count: number): Record<SplitName, number[]> {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`nfnSplitIndices: count must be a non-negative integer, got ${count}`);
  const testStart = Math.floor(0.5 * count);
  const trainVal = new PythonRandom(0).shuffle(Array.from({ length: testStart }, (_, i) => i));
  const valStart = Math.floor(0.8 * testStart);
  return {
    train: trainVal.slice(0, valStart),
    val: trainVal.slice(valStart),
    test: Array.from({ length: count - testStart }, (_, i) => testStart + i),
  };
}

export function nfnSplits(count: number): Record<SplitName, Ranges> {
  const s = nfnSplitIndices(count);
  return { train: indicesToRanges(s.train), val: indicesToRanges(s.val), test: indicesToRanges(s.test) };
}
