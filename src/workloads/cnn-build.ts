// Small-CNN zoo building throughput on one thread: networks trained and scored per second by
// the zoo builder itself (MNIST, the default recipe unless told), into a temporary folder.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCnnZoo } from "../zoo/build/cnn-builder.js";
import { DEFAULT_CNN_RECIPE, type CnnRecipe } from "../zoo/build/cnn-recipe.js";
import { Zoo } from "../zoo/format.js";
import { summarizeZoo } from "../zoo/summary.js";

export interface CnnBuildFigures {
  networks: number;
  networksPerSec: number;
  /** Optimiser steps of one network per second, summed over the networks trained at once. */
  networkStepsPerSec: number;
  /** Training images through one network (forward and backward) per second. */
  trainImagesPerSec: number;
  meanSteps: number;
  meanTestAccuracy: number;
  recipe: CnnRecipe;
}

export async function cnnBuildBench(n: number, recipe: Partial<CnnRecipe> = {}): Promise<CnnBuildFigures> {
  const dir = mkdtempSync(join(tmpdir(), "probegen-bench-cnn-"));
  try {
    const full = { ...DEFAULT_CNN_RECIPE, ...recipe };
    const report = await buildCnnZoo({ dataset: "mnist", count: n, out: dir, recipe: full, shardSize: n });
    const s = summarizeZoo(Zoo.open(dir));
    const steps = s.means.steps * n;
    return {
      networks: n, networksPerSec: n / report.seconds, networkStepsPerSec: steps / report.seconds,
      trainImagesPerSec: (steps * full.batchSize) / report.seconds, meanSteps: s.means.steps,
      meanTestAccuracy: s.means.test_accuracy, recipe: full,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
