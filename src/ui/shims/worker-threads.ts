// node:worker_threads in the web page: the kernel pool's Worker as a Web Worker, made from the
// bundled kernel thread (build/ui/kernel-thread.js, one of the page's in-memory files) and handed
// its workerData as the first message. Only a cross-origin-isolated page, which can share the
// kernels' memory, starts any (the page sets one thread otherwise).
import { readFileSync } from "./fs.js";

/** The kernel thread's script among the page's files (page-html.ts puts it there). */
export const KERNEL_THREAD_FILE = "/probegen/build/ui/kernel-thread.js";
export const isMainThread = true;
export const parentPort = null;
export const workerData = null;

let script: string | null = null;

export class Worker {
  private readonly worker: globalThis.Worker;
  private readonly listeners: ((e: Error) => void)[] = [];

  constructor(url: URL | string, options: { workerData: unknown }) {
    if (!String(url).endsWith("/kernel-worker.js")) throw new Error(`the web page starts kernel threads only, not ${String(url)}`);
    script ??= URL.createObjectURL(new Blob([readFileSync(KERNEL_THREAD_FILE) as Uint8Array<ArrayBuffer>], { type: "text/javascript" }));
    this.worker = new globalThis.Worker(script);
    this.worker.onerror = (e) => {
      e.preventDefault();
      for (const f of this.listeners) f(new Error(e.message));
    };
    this.worker.postMessage(options.workerData);
  }

  on(event: string, f: (e: Error) => void): this {
    if (event === "error") this.listeners.push(f);
    return this;
  }

  unref(): void {}

  async terminate(): Promise<number> {
    this.worker.terminate();
    return 0;
  }
}

export default { isMainThread, parentPort, workerData, Worker };
