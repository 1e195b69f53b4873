// Tensors: a shape and a Float32Array view into the kernels' shared memory.
// Lifetime: a tensor made inside tidy() is freed when tidy returns (unless returned or kept);
// one made outside (a parameter, optimiser state) lives until dispose() or garbage collection.
import { getRuntime } from "./memory.js";
import { fmtShape } from "./errors.js";

/** Records how a tensor was made, so gradients can flow back to its inputs. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Adds d(loss)/d(input) into each input's gradient, given d(loss)/d(output). */
  backward(gradOutput: Float32Array): void;
}

interface Block { ptr: number; bytes: number }

const scopes: Set<Tensor>[] = [];
let gradEnabled = true;

const finalizer = new FinalizationRegistry<Block>((block) => getRuntime().heap.free(block.ptr, block.bytes));

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid tensor shape ${fmtShape(shape)}`);
    n *= d;
  }
  return n;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  data: Float32Array;
  requiresGrad = false;
  grad: Tensor | null = null;
  /** grad holds a gradient of the current backward pass (false: stale, overwrite on next write). */
  gradValid = false;
  node: GradNode | null = null;
  persistent: boolean;
  private block: Block | null;
  /** The tensor whose memory a view (from leading()) shares. */
  private viewOf: Tensor | null = null;

  private constructor(shape: readonly number[], data: Float32Array, block: Block | null, persistent: boolean) {
    this.shape = Object.freeze([...shape]);
    this.size = data.length;
    this.data = data;
    this.block = block;
    this.persistent = persistent;
  }

  /** A tensor with uninitialised contents. */
  static empty(shape: readonly number[], opts: { persistent?: boolean } = {}): Tensor {
    const n = sizeOf(shape);
    const heap = getRuntime().heap;
    const bytes = Math.max(4, n * 4);
    const ptr = heap.alloc(bytes);
    const block = { ptr, bytes };
    const persistent = opts.persistent ?? scopes.length === 0;
    const t = new Tensor(shape, heap.f32(ptr, n), block, persistent);
    if (persistent) finalizer.register(t, block, t);
    else scopes[scopes.length - 1].add(t);
    return t;
  }

  static zeros(shape: readonly number[], opts: { persistent?: boolean } = {}): Tensor {
    const t = Tensor.empty(shape, opts);
    t.data.fill(0);
    return t;
  }

  static full(shape: readonly number[], value: number, opts: { persistent?: boolean } = {}): Tensor {
    const t = Tensor.empty(shape, opts);
    t.data.fill(value);
    return t;
  }

  /** Copies values (row-major) into a new tensor of the given shape. */
  static from(values: ArrayLike<number>, shape?: readonly number[], opts: { persistent?: boolean } = {}): Tensor {
    const s = shape ?? [values.length];
    if (sizeOf(s) !== values.length) {
      throw new RangeError(`Tensor.from: ${values.length} values do not fill shape ${fmtShape(s)}`);
    }
    const t = Tensor.empty(s, opts);
    t.data.set(values);
    return t;
  }

  /** A scalar (shape []) with the given value. */
  static scalar(value: number): Tensor {
    return Tensor.from([value], []);
  }

  /**
   * A view of the first n entries along axis 0, sharing this tensor's memory (writes show in
   * both). It has its own gradient; it is in no tidy() scope, lives while this tensor does, and
   * its dispose() frees only its gradient.
   */
  leading(n: number): Tensor {
    if (this.rank === 0 || !Number.isInteger(n) || n < 0 || n > this.shape[0]) {
      throw new RangeError(`leading(${n}): tensor of shape ${fmtShape(this.shape)}`);
    }
    const per = this.shape[0] === 0 ? 0 : this.size / this.shape[0];
    const t = new Tensor([n, ...this.shape.slice(1)], this.data.subarray(0, n * per), null, true);
    t.viewOf = this;
    return t;
  }

  get rank(): number { return this.shape.length; }
  get disposed(): boolean { return this.viewOf !== null ? this.viewOf.disposed : this.block === null; }

  /** Throws when the tensor's memory was freed: its values are gone (reading them would give nothing, or another tensor's). */
  private assertLive(op: string): void {
    if (this.disposed) throw new ReferenceError(`${op}: tensor of shape ${fmtShape(this.shape)} was disposed`);
  }

  /** The value of a one-element tensor. */
  item(): number {
    this.assertLive("item()");
    if (this.size !== 1) throw new RangeError(`item(): tensor of shape ${fmtShape(this.shape)} has ${this.size} elements`);
    return this.data[0];
  }

  toArray(): number[] {
    this.assertLive("toArray()");
    return Array.from(this.data);
  }

  /** A persistent, graph-free copy. */
  clone(opts: { persistent?: boolean } = {}): Tensor {
    this.assertLive("clone()");
    const t = Tensor.empty(this.shape, opts);
    t.data.set(this.data);
    return t;
  }

  /** Marks this tensor as a leaf whose gradient backward() should compute. */
  requireGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /**
   * The gradient buffer, allocated on first use. It lives exactly as long as this tensor (it is
   * in no scope, and freed with the tensor), so a backward() run in an inner tidy() scope
   * cannot free a gradient that an outer tensor still accumulates.
   */
  gradBuffer(): Tensor {
    if (this.grad === null || this.grad.disposed) {
      const own = !this.persistent && scopes.length > 0;
      const g = Tensor.empty(this.shape, { persistent: !own });
      if (own) scopes[scopes.length - 1].delete(g);
      this.grad = g;
    }
    return this.grad;
  }

  /** Detaches this tensor from every tidy() scope; it then lives until dispose() or GC. */
  makePersistent(): this {
    if (this.grad !== null && !this.grad.disposed) this.grad.makePersistent();
    if (this.persistent || this.block === null) return this;
    this.persistent = true;
    for (const s of scopes) s.delete(this);
    finalizer.register(this, this.block, this);
    return this;
  }

  /** Frees the memory now. Using the tensor afterwards is an error. */
  dispose(): void {
    if (this.viewOf !== null) {
      if (this.grad !== null) { this.grad.dispose(); this.grad = null; }
      this.node = null;
      return;
    }
    if (this.block === null) return;
    const heap = getRuntime().heap;
    if (this.persistent) finalizer.unregister(this);
    heap.free(this.block.ptr, this.block.bytes);
    this.block = null;
    this.data = new Float32Array(0);
    this.node = null;
    if (this.grad !== null) { this.grad.dispose(); this.grad = null; }
    if (scopes.length > 0) scopes[scopes.length - 1].delete(this);
  }

  toString(): string {
    return `Tensor${fmtShape(this.shape)}`;
  }
}

// Tensors reachable from a tidy() result: through arrays, Maps and plain objects.
function collect(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) { out.add(value); return; }
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return;
  if (Array.isArray(value)) { for (const v of value) collect(v, out); return; }
  if (value instanceof Map) { for (const v of value.values()) collect(v, out); return; }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) collect(v, out);
}

/**
 * Runs fn and frees every tensor it made, except those in its result (found through arrays,
 * Maps and plain objects), which move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  for (const t of scope) {
    if (keep.has(t)) {
      if (parent !== null) parent.add(t);
      else t.makePersistent();
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Whether ops record gradient nodes now. */
export function isGradEnabled(): boolean { return gradEnabled; }

/** Runs fn without recording gradient nodes (evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}
