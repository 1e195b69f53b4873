// What the web page has no use for (child processes, native addons,
// onnxruntime, V8 flags): importable, and a clear error if ever called.
function unavailable(what: string): never {
  throw new Error(`${what} is not available in the web page; use the probegen command line`);
}
export function spawnSync(): never { return unavailable("child processes"); }
export function spawn(): never { return unavailable("child processes"); }
export function createRequire(): () => never { return () => unavailable("native addons"); }
export function setFlagsFromString(): void {}
export function getHeapStatistics(): Record<string, number> { return { heap_size_limit: 2 ** 31 }; }
export const InferenceSession = { create: async (): Promise<never> => unavailable("onnxruntime (black-box ONNX models)") };
export class Tensor { constructor() { unavailable("onnxruntime (black-box ONNX models)"); } }
export const env = {};
export default { spawnSync, createRequire, setFlagsFromString, getHeapStatistics, InferenceSession };
export function createHash(): never { return unavailable("hashing ONNX graphs"); }
export class Transform { constructor() { unavailable("streams"); } }
export class StringDecoder { constructor() { unavailable("reading metrics files"); } }
