// Making folders one level at a time. Node 20's mkdirSync(dir, { recursive: true }) spins forever
// when mkdir answers ENOENT under a parent that exists (as /proc does), so the path is walked and
// each missing level made on its own; a failure names the folder.
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { FileWriteError, describeSystemError } from "../file-error.js";

/** Makes `dir` and any missing parents; an error names the folder that cannot be made. */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) throw new FileWriteError(p, `is not a folder, so ${dir} cannot be made`);
      break;
    } catch (e) {
      if (e instanceof FileWriteError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") throw new FileWriteError(p, `cannot be read to make ${dir}: ${describeSystemError(e)}`);
      missing.push(p);
      if (dirname(p) === p) break;
    }
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST" && statSync(m).isDirectory()) continue;
      throw new FileWriteError(m, `cannot make this folder: ${describeSystemError(e)}`);
    }
  }
}
