// Byte buffers from files and from Node: a Node Buffer is a Uint8Array whose slice() is a view of
// a shared pool rather than a copy, so code that copies bytes says so explicitly.

/** The same bytes as a plain Uint8Array view (a Buffer's own slice semantics left behind). */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;
}

/** A fresh copy of the first n bytes. */
export function copyBytes(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(bytes.subarray(0, n));
  return out;
}
