// Wild Park training throughput on one thread: the same networks trained as one ragged cohort
// and one at a time (cohorts of one), from the builder's own draws, in networks/s and training
// images through one network per second. The networks come out identical either way.
import { describeWildParkBuild } from "../zoo/build/wild-park-builder.js";
import { trainWildParkCohort, type WildParkRecipe } from "../zoo/build/wild-park-train.js";

export interface WildParkBuildFigures {
  networks: number;
  cohortNetworksPerSec: number;
  oneByOneNetworksPerSec: number;
  cohortImagesPerSec: number;
  oneByOneImagesPerSec: number;
  recipe: WildParkRecipe;
}

export function wildParkBuildBench(n: number, recipe: Partial<WildParkRecipe>): WildParkBuildFigures {
  const b = describeWildParkBuild({ dataset: "fmnist", count: Math.max(3, n), out: "", recipe });
  const jobs = b.jobs.slice(0, n);
  const epochs = Math.max(...b.recipe.checkpoints);
  const images = n * epochs * Math.floor(b.recipe.trainImages / b.recipe.batchSize) * b.recipe.batchSize;
  // One step of the whole cohort first: the tensor memory grows to its peak outside the timing.
  trainWildParkCohort(jobs, b.recipe, { ...b.pool, count: b.recipe.batchSize }, { ...b.test, count: 1 });
  let t = performance.now();
  trainWildParkCohort(jobs, b.recipe, b.pool, b.test);
  const cohort = (performance.now() - t) / 1000;
  t = performance.now();
  for (const j of jobs) trainWildParkCohort([j], b.recipe, b.pool, b.test);
  const single = (performance.now() - t) / 1000;
  return {
    networks: n, cohortNetworksPerSec: n / cohort, oneByOneNetworksPerSec: n / single,
    cohortImagesPerSec: images / cohort, oneByOneImagesPerSec: images / single, recipe: b.recipe,
  };
}
