// NumPy values inside pickles, made into plain values without NumPy: a scalar
// (numpy.core.multiarray.scalar(dtype, bytes)) becomes a number, bigint or boolean, and an array
// (numpy.core.multiarray._reconstruct, then BUILD with (version, shape, dtype, fortran, bytes))
// becomes an NdArray. dtypes are numpy.dtype(descr, align, copy) plus BUILD with the byte order.
import { decodeNumeric, parseDtype, type NumericArray, type NumpyDtype } from "./numpy-dtype.js";
import type { PickleCall } from "./pickle.js";

/**
 * A NumPy array read from a pickle: its dtype, shape and values in C order. The pickle makes it
 * empty (_reconstruct) and fills it with BUILD.
 */
export class NdArray {
  constructor(public dtype: NumpyDtype | null = null, public shape: number[] = [0], public data: NumericArray = new Float32Array(0)) {}
}

/** numpy.dtype(...) as the pickle builds it; the byte order arrives with BUILD. */
class PickledDtype {
  order: string | undefined;
  constructor(readonly name: string) {}
  resolve(): NumpyDtype {
    const d = parseDtype(this.name, this.order);
    if (d === null) throw new Error(`NumPy dtype ${JSON.stringify(this.name)} is not a plain numeric type`);
    return d;
  }
}

const MODULES = ["numpy.core.multiarray", "numpy._core.multiarray"];

function scalar(args: readonly unknown[]): unknown {
  const [dtype, bytes] = args;
  if (!(dtype instanceof PickledDtype)) throw new Error("scalar() without a dtype");
  if (!(bytes instanceof Uint8Array)) throw new Error("scalar() without its bytes");
  const d = dtype.resolve();
  if (bytes.length !== d.size) throw new Error(`a ${d.descr} scalar needs ${d.size} bytes, got ${bytes.length}`);
  const v = decodeNumeric(bytes, d, 1)[0];
  if (d.kind === "b") return v !== 0;
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  return v;
}

/** Allowed NumPy calls, by qualified name. */
export const NUMPY_CALLS: ReadonlyMap<string, PickleCall> = new Map<string, PickleCall>([
  ["numpy.dtype", (a) => {
    if (typeof a[0] !== "string") throw new Error("dtype() of a non-string");
    return new PickledDtype(a[0]);
  }],
  ...MODULES.map((m): [string, PickleCall] => [`${m}.scalar`, scalar]),
  ...MODULES.map((m): [string, PickleCall] => [`${m}._reconstruct`, () => new NdArray()]),
]);

/** BUILD for NumPy values; false when the target is not one. */
export function buildNumpy(target: unknown, state: unknown): boolean {
  if (target instanceof PickledDtype) {
    if (Array.isArray(state) && typeof state[1] === "string") target.order = state[1];
    return true;
  }
  if (target instanceof NdArray) {
    if (!Array.isArray(state) || state.length < 5) throw new Error("array state is not (version, shape, dtype, fortran, data)");
    const [, shape, dtype, fortran, raw] = state as unknown[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error("array shape is not a tuple of sizes");
    if (!(dtype instanceof PickledDtype)) throw new Error("array without a dtype");
    if (!(raw instanceof Uint8Array)) throw new Error("array of Python objects (only numeric arrays are read)");
    const d = dtype.resolve();
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (raw.length !== count * d.size) throw new Error(`array of shape [${shape.join(",")}] ${d.descr} needs ${count * d.size} bytes, got ${raw.length}`);
    let data = decodeNumeric(raw, d, count);
    if (fortran === true && shape.length > 1) data = fortranToC(data, shape as number[]);
    target.dtype = d;
    target.shape = shape as number[];
    target.data = data;
    return true;
  }
  return false;
}

function fortranToC(data: NumericArray, shape: number[]): NumericArray {
  const out = data.slice() as NumericArray;
  const n = shape.length;
  const idx = new Array<number>(n).fill(0);
  for (let c = 0; c < data.length; c++) {
    // c walks C order; its Fortran position has the first axis fastest.
    let f = 0, stride = 1;
    for (let a = 0; a < n; a++) { f += idx[a] * stride; stride *= shape[a]; }
    (out as { [i: number]: number | bigint })[c] = data[f];
    for (let a = n - 1; a >= 0; a--) { if (++idx[a] < shape[a]) break; idx[a] = 0; }
  }
  return out;
}

