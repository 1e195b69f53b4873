// Comparing finished runs: grouped by zoo, method and K (every other setting but the seed must
// agree within a group), each group's test score at the best validation step as mean ± sample
// standard deviation over its seeds, with steps, training time and FLOPs per network. The
// results tables of docs/results.md are this command's --markdown output.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { readRunFile, readRunResult, RunFolderError, type RunFile } from "../train/run-folder.js";
import type { RunResult } from "../train/trainer.js";
import type { TrainConfig } from "../train/config.js";
import { READOUTS, type Readout } from "../train/readouts.js";
import { realPathOr } from "../io/paths.js";

export interface CompareGroup {
  zoo: string;
  /** The method, named for its variant where one is set (vanilla-uniform, probegen6). */
  method: string;
  /** K, or null for statnn (no probes). */
  probes: number | null;
  /** What the head read of each answer (readouts.ts), or null for statnn (weight statistics). */
  readout: Readout | null;
  score: RunResult["score"];
  /** The settings that set this group apart from others of its zoo, method, readout and K ("lr 0.001"), or "". */
  settings: string;
  runs: string[];
  seeds: number[];
  /** Test score at the best validation step, per run. */
  tests: number[];
  mean: number;
  /** Sample standard deviation over the seeds; 0 for a single seed, which the tables show as "1 seed". */
  std: number;
  steps: number;
  /** Mean training seconds per run. */
  seconds: number;
  flopsPerNetwork: number;
}

const METHOD_ORDER = ["probegen", "probegen-from-data", "probegen-from-dead-leaves", "probegen6", "probegen6-from-data", "probegen6-from-dead-leaves", "vanilla", "vanilla-uniform", "uniform", "grid", "dead-leaves", "data", "statnn"];

/** The method's name with its variant: what the README's experiments call it. */
export function methodLabel(c: TrainConfig): string {
  if (c.method === "vanilla" && c.vanillaInit === "uniform") return "vanilla-uniform";
  if (c.method === "vanilla" && c.probeLr !== undefined && c.probeLr !== c.lr) return `vanilla (probe lr ${c.probeLr})`;
  if (c.method !== "probegen") return c.method;
  const name = c.generator.layers === 6 ? "probegen6" : "probegen";
  // Runs from before --probe-init have none: they started as initialised.
  const init = c.probeInit ?? "random";
  const started = init === "random" || init === "auto" ? name : `${name}-from-${init}`;
  // Two groups of otherwise equal runs are told apart by the generator's own rate.
  return c.probeLr !== undefined && c.probeLr !== c.lr ? `${started} (probe lr ${c.probeLr})` : started;
}

/** Mean and sample standard deviation (n - 1), as the tables report over seeds. */
export function meanStd(xs: readonly number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return [m, sd];
}

interface LoadedRun { dir: string; runFile: RunFile; result: RunResult }

function loadRun(dir: string): LoadedRun {
  const runFile = readRunFile(dir);
  const result = readRunResult(dir);
  if (result === null) throw new RunFolderError(dir, "has not finished (no result.json); resume it with `probegen train --resume` or leave it out");
  return { dir: resolve(dir), runFile, result };
}

/**
 * Run folders from the paths given: a run folder itself, or a folder of runs (an experiment's
 * output), whose subfolders holding a config.json are taken in name order.
 */
export function runFolders(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    if (existsSync(join(p, "config.json")) || !existsSync(p) || !statSync(p).isDirectory()) return [p];
    const runs = readdirSync(p).sort().map((n) => join(p, n)).filter((d) => existsSync(join(d, "config.json")));
    if (runs.length === 0) throw new RunFolderError(p, "is neither a run folder (config.json) nor a folder of runs");
    return runs;
  });
}

/** Runs given, split into those finished and the folders of those still running or stopped. */
export function finishedRuns(dirs: readonly string[]): { finished: string[]; unfinished: string[] } {
  const finished: string[] = [], unfinished: string[] = [];
  for (const d of dirs) {
    readRunFile(d);
    (readRunResult(d) === null ? unfinished : finished).push(d);
  }
  return { finished, unfinished };
}

/** The settings of a run that make its group: everything but the seed and where data is read from. */
function groupSettings(c: TrainConfig): Record<string, unknown> {
  const { seed: _seed, dataDir: _data, ...settings } = c;
  return settings;
}

/** Flattened settings ("head.width": 256), for naming how groups differ. */
function flatten(v: unknown, prefix = ""): [string, string][] {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => flatten(x, prefix === "" ? k : `${prefix}.${k}`));
  return [[prefix, JSON.stringify(v)]];
}

/** The groups of the given runs, ordered by K, then method. */
export function compareRuns(dirs: readonly string[]): CompareGroup[] {
  const groups = new Map<string, LoadedRun[]>();
  const seen = new Map<string, string>();
  for (const d of dirs) {
    // The same folder given twice (compare R R, or R and its parent) is one run, not two seeds.
    const real = realPathOr(d);
    if (seen.has(real)) continue;
    seen.set(real, d);
    const r = loadRun(d);
    const key = JSON.stringify(groupSettings(r.runFile.config));
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [r]);
    else {
      const twin = list.find((x) => x.runFile.config.seed === r.runFile.config.seed);
      if (twin !== undefined) throw new RunFolderError(r.dir, `has the same settings and seed (${r.runFile.config.seed}) as ${twin.dir}: one seed would count twice; leave one of them out`);
      list.push(r);
    }
  }
  const out: CompareGroup[] = [...groups.values()].map((runs) => {
    runs.sort((a, b) => a.runFile.config.seed - b.runFile.config.seed);
    const c = runs[0].runFile.config;
    const tests = runs.map((r) => r.result.best?.test ?? NaN);
    const [mean, std] = meanStd(tests);
    return {
      zoo: c.zoo, method: methodLabel(c), probes: c.method === "statnn" ? null : c.probes, score: runs[0].result.score,
      readout: c.method === "statnn" || c.readout === "auto" ? null : c.readout, settings: "",
      runs: runs.map((r) => r.dir), seeds: runs.map((r) => r.runFile.config.seed), tests, mean, std,
      steps: runs[0].result.steps, seconds: meanStd(runs.map((r) => r.result.trainSeconds))[0], flopsPerNetwork: runs[0].result.flopsPerNetwork,
    };
  });
  // Groups that would show as the same row (runs differing only in --lr, say) are named by what differs.
  const configs = [...groups.values()].map((runs) => runs[0].runFile.config);
  const row = (g: CompareGroup) => JSON.stringify([g.zoo, g.method, g.readout, g.probes]);
  const byRow = new Map<string, number[]>();
  out.forEach((g, i) => byRow.set(row(g), [...(byRow.get(row(g)) ?? []), i]));
  for (const members of byRow.values()) {
    if (members.length < 2) continue;
    const flat = members.map((i) => new Map(flatten(groupSettings(configs[i]))));
    const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].filter((k) => new Set(flat.map((f) => f.get(k))).size > 1);
    members.forEach((i, j) => { out[i].settings = keys.map((k) => `${k} ${flat[j].get(k) ?? "-"}`).join(", "); });
  }
  const k = (g: CompareGroup) => g.probes ?? runsK(g);
  const r = (g: CompareGroup) => (g.readout === null ? 0 : READOUTS.indexOf(g.readout));
  return out.sort((a, b) => a.zoo.localeCompare(b.zoo) || k(a) - k(b) || rank(a.method) - rank(b.method) || r(a) - r(b) || a.settings.localeCompare(b.settings));
}

/** statnn has no K; it sorts with the K its run recorded (the default), beside the other methods of that K. */
function runsK(g: CompareGroup): number {
  return readRunFile(g.runs[0]).config.probes;
}

function rank(method: string): number {
  const i = METHOD_ORDER.indexOf(method);
  return i < 0 ? METHOD_ORDER.length : i;
}

/** How a group's score is shown: accuracy in %, Kendall's tau as is. */
function scoreFormat(g: CompareGroup, digits: { acc: number; tau: number }): (v: number) => string {
  return g.score === "kendallTau" ? (v) => (Number.isNaN(v) ? "n/a" : v.toFixed(digits.tau)) : (v) => (Number.isNaN(v) ? "n/a" : (100 * v).toFixed(digits.acc));
}

/** The method with the settings that tell its group apart, when another group would look the same. */
function methodCell(g: CompareGroup): string {
  return g.settings === "" ? g.method : `${g.method} [${g.settings}]`;
}

/** mean ± std over the seeds (with the unit after them); one seed has no spread to show. */
function spread(g: CompareGroup, f: (v: number) => string, unit = ""): string {
  return g.tests.length === 1 ? `${f(g.mean)}${unit} (1 seed)` : `${f(g.mean)} ± ${f(g.std)}${unit}`;
}

/** Markdown tables, one per zoo (accuracy in %, or Kendall's tau). */
export function compareMarkdown(groups: readonly CompareGroup[]): string {
  const zoos = [...new Set(groups.map((g) => g.zoo))];
  return zoos.map((zoo) => {
    const mine = groups.filter((x) => x.zoo === zoo);
    const acc = mine[0].score !== "kendallTau";
    const lines = [
      ...(zoos.length > 1 ? [`Zoo ${zoo}:`, ""] : []),
      `| method | readout | K | ${acc ? "test accuracy (%)" : "test Kendall's τ"} | per seed | steps | train time (s) | MFLOPs / network |`,
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const g of mine) {
      const f = scoreFormat(g, { acc: 2, tau: 3 });
      lines.push(`| ${methodCell(g)} | ${g.readout ?? "–"} | ${g.probes ?? "–"} | ${spread(g, f)} | ${g.tests.map(f).join(", ")} | ${g.steps} | ${g.seconds.toFixed(1)} | ${(g.flopsPerNetwork / 1e6).toFixed(3)} |`);
    }
    return lines.join("\n");
  }).join("\n\n");
}

/** A plain table for a terminal. */
export function compareText(groups: readonly CompareGroup[]): string {
  const rows = groups.map((g) => {
    const f = scoreFormat(g, { acc: 2, tau: 4 });
    const unit = g.score === "kendallTau" ? " (tau)" : "%";
    return [g.zoo, methodCell(g), g.readout ?? "-", g.probes === null ? "-" : String(g.probes), spread(g, f, unit), String(g.runs.length), String(g.steps), g.seconds.toFixed(1), (g.flopsPerNetwork / 1e6).toFixed(3)];
  });
  const header = ["zoo", "method", "readout", "K", "test score", "seeds", "steps", "train s", "MFLOPs/net"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
