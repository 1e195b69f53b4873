// Command-line options declared once: each declaration gives the option's help line (with its
// default), its parseArgs type and how its value is read and checked. A command's help, its
// parsing and its typed values all come from one record of these.
import { UsageError, choiceArg, intArg, numArg, parseCommandArgs, requiredArg, shardArg } from "./args.js";

type Raw = string | boolean | undefined;

export interface CliOption<T> {
  /** The value's name in the help line ("N", "X", "LIST"); "" for a flag. */
  readonly meta: string;
  /** The help text with its default; "\n" starts a continuation line. */
  readonly help: string;
  readonly boolean: boolean;
  /** The value, checked; `flag` is the option's name, for messages. */
  read(flag: string, value: Raw): T;
}

export type OptionSpec = Record<string, CliOption<unknown>>;
export type OptionValues<S extends OptionSpec> = { [K in keyof S]: S[K] extends CliOption<infer T> ? T : never };

/** The help with its default in parentheses: where "{}" stands, or at the end. */
const withDefault = (help: string, def: unknown) => mark(help, `(${Array.isArray(def) ? def.join(",") : String(def)})`);
const mark = (help: string, m: string) => (help.includes("{}") ? help.replace("{}", m) : `${help} ${m}`);
const text = (v: Raw) => (typeof v === "string" ? v : undefined);

export function intOption(meta: string, help: string, def: number, min = -Infinity, max = Infinity): CliOption<number> {
  return { meta, help: withDefault(help, def), boolean: false, read: (f, v) => intArg(f, text(v), def, min, max) };
}

export function numOption(meta: string, help: string, def: number, min = -Infinity, exclusive = false): CliOption<number> {
  return { meta, help: withDefault(help, def), boolean: false, read: (f, v) => numArg(f, text(v), def, min, exclusive) };
}

/** A required whole number of at least `min`; `why` explains the minimum in the message. */
export function requiredIntOption(meta: string, help: string, min: number, why?: string): CliOption<number> {
  return {
    meta, help: mark(help, "(required)"), boolean: false,
    read: (f, v) => {
      const n = intArg(f, requiredArg(f, text(v)), 0, why === undefined ? min : 0);
      if (n < min) throw new UsageError(`--${f} must be at least ${min} (${why}), got ${n}`);
      return n;
    },
  };
}

export function requiredStringOption(meta: string, help: string): CliOption<string> {
  return { meta, help: mark(help, "(required)"), boolean: false, read: (f, v) => requiredArg(f, text(v)) };
}

export function stringOption(meta: string, help: string): CliOption<string | undefined> {
  return { meta, help, boolean: false, read: (_f, v) => text(v) };
}

/** One of `choices`; required when there is no default. */
export function choiceOption<T extends string>(meta: string, help: string, choices: readonly T[], def?: T): CliOption<T> {
  return {
    meta, help: def === undefined ? mark(help, "(required)") : withDefault(help, def), boolean: false,
    read: (f, v) => choiceArg(f, text(v), choices, def),
  };
}

export function flagOption(help: string): CliOption<boolean> {
  return { meta: "", help, boolean: true, read: (_f, v) => v === true };
}

/** A comma-separated list, each item read by `item`; `check` may refuse the whole list. */
export function listOption<T>(meta: string, help: string, def: readonly T[], item: (flag: string, s: string) => T, check?: (flag: string, list: T[], raw: string) => void): CliOption<T[]> {
  return {
    meta, help: withDefault(help, def), boolean: false,
    read: (f, v) => {
      const s = text(v);
      if (s === undefined) return [...def];
      const list = s.split(",").map((e) => item(f, e.trim()));
      check?.(f, list, s);
      return list;
    },
  };
}

/** LO,HI with 0 < LO <= HI, whole numbers when `integer`. */
export function pairOption(meta: string, help: string, def: readonly [number, number], integer: boolean): CliOption<[number, number]> {
  return {
    meta, help: withDefault(help, def), boolean: false,
    read: (f, v) => {
      const s = text(v);
      if (s === undefined) return [def[0], def[1]];
      const parts = s.split(",").map((x) => Number(x.trim()));
      if (parts.length !== 2 || !parts.every((x) => Number.isFinite(x) && x > 0 && (!integer || Number.isInteger(x))) || parts[0] > parts[1]) {
        throw new UsageError(`--${f} must be two ${integer ? "positive integers" : "positive numbers"} LO,HI with LO <= HI, got "${s}"`);
      }
      return [parts[0], parts[1]];
    },
  };
}

export function shardOption(help: string): CliOption<{ index: number; count: number } | undefined> {
  return { meta: "I/N", help, boolean: false, read: (_f, v) => shardArg(text(v)) };
}

export const JSON_OPTION = flagOption("print the result as JSON on stdout (and no progress bars)");
export const HELP_OPTION = flagOption("show this help");

/** The spec's help lines, in its order; continuation lines are indented under the text. */
export function formatOptions(spec: OptionSpec, width = 25): string {
  return Object.entries(spec).map(([flag, o]) => {
    const name = flag === "help" ? "  -h, --help" : `  --${flag}${o.meta === "" ? "" : ` ${o.meta}`}`;
    const [first, ...more] = o.help.split("\n");
    return [`${name.padEnd(width - 1)} ${first}`, ...more.map((l) => `${" ".repeat(width)}${l}`)].join("\n");
  }).join("\n");
}

/**
 * Parses `argv` by the spec (strictly: unknown options are usage errors) and reads every value;
 * "help" when --help (or -h) is given, before any value is checked.
 */
export function readOptions<S extends OptionSpec>(spec: S, argv: string[]): OptionValues<S> | "help" {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [flag, o] of Object.entries(spec)) options[flag] = { type: o.boolean ? "boolean" : "string", ...(flag === "help" ? { short: "h" } : {}) };
  const { values } = parseCommandArgs({ args: argv, options, strict: true });
  const raw = values as Record<string, Raw>;
  if (raw.help === true) return "help";
  const out: Record<string, unknown> = {};
  for (const [flag, o] of Object.entries(spec)) out[flag] = o.read(flag, raw[flag]);
  return out as OptionValues<S>;
}
