// node:os in the web page: one thread (the page's kernels run on its own thread), no files.
export const EOL = "\n";
export function tmpdir(): string { return "/tmp"; }
export function homedir(): string { return "/"; }
export function availableParallelism(): number { return 1; }
export function cpus(): { model: string }[] { return [{ model: "browser" }]; }
export function platform(): string { return "browser"; }
export function totalmem(): number { return 2 ** 32; }
export default { EOL, tmpdir, homedir, availableParallelism, cpus, platform, totalmem };
export function hostname(): string { return "browser"; }
export const constants = { signals: {} as Record<string, number> };
