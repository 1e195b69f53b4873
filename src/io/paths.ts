// Paths that a user's file names (a labels CSV, a splits file): where they really lead, and
// whether they stay inside the folder the file is about.
import { realpathSync } from "node:fs";
import { relative, resolve, isAbsolute, sep } from "node:path";

/** The real path of `p` (symbolic links followed), or `p` resolved when it does not exist yet. */
export function realPathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** Whether `p` is `root` or below it, after following symbolic links in both. */
export function isInside(root: string, p: string): boolean {
  const rel = relative(realPathOr(root), realPathOr(p));
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`));
}
