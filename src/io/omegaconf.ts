// OmegaConf containers inside a pickle, unwrapped to plain values without OmegaConf: a
// DictConfig becomes a Map of its keys, a ListConfig an Array, and a value node (AnyNode,
// IntegerNode, StringNode, ...) its value. Only the containers' state is read (`_content`, and
// each node's `_val`); metadata and parent links are left behind. No OmegaConf class is built.
import { PickleError, PyObject, pyAttributes } from "./pickle.js";

const MAX_DEPTH = 1000;

function stateOf(o: PyObject): Map<unknown, unknown> | null {
  return o.state instanceof Map ? o.state : null;
}

/** The same value with every OmegaConf object replaced by its plain value (shared parts stay shared). */
export function unwrapOmegaConf(value: unknown, file: string): unknown {
  const done = new Map<object, unknown>();
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (depth > MAX_DEPTH) throw new PickleError(file, `values nest deeper than ${MAX_DEPTH} levels`);
    const prior = done.get(v);
    if (prior !== undefined || done.has(v)) return prior;
    if (v instanceof PyObject && v.className.startsWith("omegaconf.")) {
      const s = stateOf(v);
      let out: unknown = null;
      done.set(v, out);
      if (s !== null && s.has("_content")) out = walk(s.get("_content"), depth + 1);
      else if (s !== null && s.has("_val")) out = walk(s.get("_val"), depth + 1);
      done.set(v, out);
      return out;
    }
    if (v instanceof Map) {
      const m = new Map<unknown, unknown>();
      done.set(v, m);
      for (const [k, x] of v) m.set(k, walk(x, depth + 1));
      const attrs = pyAttributes.get(v);
      if (attrs !== undefined) pyAttributes.set(m, attrs);
      return m;
    }
    if (Array.isArray(v)) {
      const a: unknown[] = [];
      done.set(v, a);
      for (const x of v) a.push(walk(x, depth + 1));
      return Object.isFrozen(v) ? Object.freeze(a) : a;
    }
    if (v instanceof PyObject) {
      done.set(v, v);
      v.state = walk(v.state, depth + 1);
      return v;
    }
    return v;
  };
  return walk(value, 0);
}
