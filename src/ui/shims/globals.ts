// The Node globals that shared modules read (process.env, Buffer), for the web page's bundle.
import { Buffer } from "buffer";
export { Buffer };
export const process = {
  env: {} as Record<string, string | undefined>, pid: 1, platform: "browser", arch: "wasm", version: "v20.0.0", versions: { node: "20.0.0" },
  exitCode: 0, argv: [] as string[],
  on: () => process, once: () => process, off: () => process, removeListener: () => process, emitWarning: () => {},
  cwd: () => "/", memoryUsage: () => ({ rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 }),
  hrtime: { bigint: () => BigInt(Math.round(performance.now() * 1e6)) },
  stderr: { write: () => true, isTTY: false }, stdout: { write: () => true, isTTY: false },
};
