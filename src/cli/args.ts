// Argument helpers shared by the commands.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { MAX_THREADS } from "../engine/threads.js";

/** Bad command-line input: the command prints the message and its usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * node:util's parseArgs, except that a negative number after an option that takes a value is
 * that option's value (`--probes -5`), so that it gets the option's own range error rather than
 * parseArgs' "ambiguous" message.
 */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T & { args: string[] }): ReturnType<typeof parseArgs<T>> {
  const takesValue = new Set(Object.entries(config.options ?? {}).filter(([, o]) => o.type === "string").map(([k]) => `--${k}`));
  const args: string[] = [];
  for (let i = 0; i < config.args.length; i++) {
    const a = config.args[i], next = config.args[i + 1];
    if (takesValue.has(a) && next !== undefined && /^-\d|^-\.\d|^-Infinity$|^-inf$/i.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  return parseArgs({ ...config, args }) as ReturnType<typeof parseArgs<T>>;
}

/** A whole number written in decimal digits (not "0x10", "1e3" or " 5"). */
export function intArg(name: string, value: string | undefined, def: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return def;
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer${min > -Infinity ? ` >= ${min}` : ""}${max < Infinity ? ` and <= ${max}` : ""}, got "${value}"`);
  }
  return n;
}

/** A finite decimal number (scientific notation allowed), at least `min`, or above it when `exclusive`. */
export function numArg(name: string, value: string | undefined, def: number, min = -Infinity, exclusive = false): number {
  if (value === undefined) return def;
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < min || (exclusive && n === min)) {
    throw new UsageError(`--${name} must be a number${min > -Infinity ? ` ${exclusive ? ">" : ">="} ${min}` : ""}, got "${value}"`);
  }
  return n;
}

export function choiceArg<T extends string>(name: string, value: string | undefined, choices: readonly T[], def?: T): T {
  if (value === undefined) {
    if (def === undefined) throw new UsageError(`--${name} is required (${choices.join(" or ")})`);
    return def;
  }
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be ${choices.join(" or ")}, got "${value}"`);
  return value as T;
}

export function requiredArg(name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** The --threads line every compute command's help shows. */
export const THREADS_HELP = `  --threads N        kernel threads (default: every core, or PROBEGEN_THREADS); results are
                     the same bytes for any N`;

/**
 * Takes `--threads N` (or `--threads=N`) out of a command's arguments, wherever it stands, and
 * returns the count (undefined when absent) and the remaining arguments. Every command takes
 * it, so it is read once, before the command parses its own options.
 */
export function takeThreadsOption(argv: readonly string[]): { threads: number | undefined; rest: string[] } {
  const rest: string[] = [];
  let threads: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") { rest.push(...argv.slice(i)); break; }
    let value: string | undefined;
    if (a === "--threads") {
      value = argv[++i];
      if (value === undefined) throw new UsageError("--threads needs a value");
    } else if (a.startsWith("--threads=")) value = a.slice("--threads=".length);
    else { rest.push(a); continue; }
    threads = intArg("threads", value, 1, 1, MAX_THREADS);
  }
  return { threads, rest };
}

/**
 * Takes `--backend NAME` (or `--backend=NAME`) out of a command's arguments, wherever it
 * stands: the kernels every command runs on, as PROBEGEN_BACKEND chooses them.
 */
export function takeBackendOption(argv: readonly string[]): { backend: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let backend: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") { rest.push(...argv.slice(i)); break; }
    if (a === "--backend") {
      backend = argv[++i];
      if (backend === undefined) throw new UsageError("--backend needs a value (wasm, native or reference)");
    } else if (a.startsWith("--backend=")) backend = a.slice("--backend=".length);
    else rest.push(a);
  }
  if (backend !== undefined && !["wasm", "native", "reference"].includes(backend)) throw new UsageError(`--backend must be wasm, native or reference, got "${backend}"`);
  return { backend, rest };
}

/** Takes a boolean flag given anywhere after the command (--break-lock): whether it was there, and the rest. */
export function takeFlag(argv: readonly string[], flag: string): { on: boolean; rest: string[] } {
  const end = argv.indexOf("--");
  const head = end < 0 ? argv : argv.slice(0, end);
  const rest = head.filter((a) => a !== flag);
  return { on: rest.length < head.length, rest: end < 0 ? rest : [...rest, ...argv.slice(end)] };
}

/**
 * --shard I/N (0 <= I < N, as SLURM_ARRAY_TASK_ID or a Kubernetes JOB_COMPLETION_INDEX count):
 * this process does part I of N. Undefined when not given.
 */
export function shardArg(value: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(value.trim());
  const part = m === null ? null : { index: Number(m[1]), count: Number(m[2]) };
  if (part === null || part.count < 1 || part.index >= part.count) throw new UsageError(`--shard must be I/N with 0 <= I < N (e.g. 0/4), got "${value}"`);
  return part;
}

/** Text safe for a terminal: control characters (escape sequences in a file's name) shown as \\xNN, not obeyed. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
