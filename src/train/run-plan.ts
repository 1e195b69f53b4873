// Many probing runs into one folder (an experiment, an ablation grid), each in its own run
// folder. A finished run is kept and a stopped one resumed, so a plan longer than a sitting is
// rerun until done, and rerunning a finished plan trains nothing.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TrainConfig } from "./config.js";
import { trainYielding, type RunResult } from "./trainer.js";

export interface PlannedRun {
  /** Its run folder. */
  dir: string;
  config: TrainConfig;
  /** How progress lines name it ("probegen K=64 seed 0"). */
  label: string;
}

export interface PlanProgress {
  /** A line per run: kept, or trained with its scores. */
  log?: (line: string) => void;
  /** Called before each run that trains, with its place in the plan. */
  onRun?: (index: number, total: number, run: PlannedRun) => void;
}

/** A score as the progress lines show it: accuracy in %, Kendall's tau as is. */
export function showScore(score: RunResult["score"], v: number | null | undefined): string {
  return v === undefined || v === null ? "n/a" : score === "accuracy" ? `${(100 * v).toFixed(2)}%` : `tau ${v.toFixed(4)}`;
}

/** Trains every run that has not finished; returns how many trained now. */
export async function runPlan(runs: readonly PlannedRun[], progress: PlanProgress = {}): Promise<number> {
  let trained = 0;
  for (const [i, r] of runs.entries()) {
    if (existsSync(join(r.dir, "result.json"))) { progress.log?.(`${r.label}: finished earlier, kept`); continue; }
    const resume = existsSync(join(r.dir, "config.json"));
    // A folder left without its config.json never started training: it starts over.
    if (!resume) rmSync(r.dir, { recursive: true, force: true });
    progress.onRun?.(i, runs.length, r);
    // Yielding between steps: a signal stops the plan at a step boundary, resumable.
    let res: RunResult;
    try {
      res = await trainYielding(r.config, r.dir, { resume });
    } catch (e) {
      // Which run of the plan stopped (an ablation variant), and where it is.
      if (e instanceof Error) e.message = `${r.label} (${r.dir}): ${e.message}`;
      throw e;
    }
    trained++;
    progress.log?.(`${r.label}: test ${showScore(res.score, res.best?.test)} (val ${showScore(res.score, res.best?.val)}) in ${res.trainSeconds.toFixed(1)} s${resume ? " (resumed)" : ""}`);
  }
  return trained;
}

/** Part I of N of a plan (runs r with r % N = I): for SLURM arrays and Kubernetes Indexed Jobs. */
export function planPart<T>(runs: readonly T[], part: { index: number; count: number } | undefined): T[] {
  return part === undefined ? [...runs] : runs.filter((_, r) => r % part.count === part.index);
}
