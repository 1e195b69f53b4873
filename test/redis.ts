// Redis on a loopback port and probegen processes around it, for the job-queue tests. Every wait
// is bounded in time.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
export const REDIS = "/usr/bin/redis-server";
const haveRedis = existsSync(REDIS);
// CI installs redis-server (.ci/run); elsewhere these tests need it installed.
export const skip = !haveRedis && process.env.CI !== "true" ? "redis-server is not installed (apt-get install redis-server)" : false;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const c = createConnection({ host: "127.0.0.1", port }, () => { c.end(); resolve(true); });
  c.once("error", () => resolve(false));
});

/** redis-server on 127.0.0.1:port only, appending to its log in dir (so a restart keeps the queue). */
export async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const p = spawn(REDIS, ["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes", "--save", "", "--appendonly", "yes", "--dir", dir], { stdio: "ignore" });
  await until("redis-server to accept connections", () => accepts(port), 10_000);
  return p;
}

export async function stop(p: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  p.kill(signal);
  const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/** A CLI child process whose stderr is collected. */
export function start(args: string[]): { p: ChildProcess; err: () => string; done: Promise<number | null> } {
  const p = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "true" } });
  let err = "";
  p.stderr!.on("data", (d) => { err += String(d); });
  p.stdout!.resume();
  const done = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
  return { p, err: () => err, done };
}

export const worker = (url: string) => start(["worker", "--queue", url, "--threads", "1", "--lock-seconds", "2"]);
/** `p`, or an error after `ms`; the timer does not outlive the race (it would hold the test file open). */
export async function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, fail) => { timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms: ${what}`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}


/**
 * Runs `fn` with a fresh redis-server on a free loopback port and a temporary folder; stops the
 * processes `fn` registers (workers), then Redis, and removes the folder, however `fn` ends.
 */
export async function withRedis(tag: string, fn: (ctx: { root: string; url: string; owned: ChildProcess[] }) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), `probegen-${tag}-`));
  const port = await freePort();
  const redis = await startRedis(port, root);
  const owned: ChildProcess[] = [];
  try {
    await fn({ root, url: `redis://127.0.0.1:${port}/${tag}`, owned });
  } finally {
    for (const p of owned) await stop(p);
    await stop(redis);
    rmSync(root, { recursive: true, force: true });
  }
}
