// INR fitting throughput: MNIST training images through the zoo builder's fitter.
import { imagePixels, loadImageSet } from "../data/image-sets.js";
import { DWSNETS_SIREN, gridCoordinates } from "../nets/siren.js";
import { DEFAULT_INR_RECIPE, InrFitter, type InrJob, type InrRecipe } from "../zoo/build/inr-fit.js";

export interface FitFigures { inrs: number; inrsPerSec: number; meanPsnr: number; meanSteps: number; recipe: InrRecipe; batch: number }

export function fitBench(n: number, recipe: Partial<InrRecipe> = {}, batch = 64): FitFigures {
  const set = loadImageSet("mnist");
  const full: InrRecipe = { ...DEFAULT_INR_RECIPE, ...recipe };
  const fitter = new InrFitter(DWSNETS_SIREN, full, batch, gridCoordinates(set.rows, set.cols), 0);
  function* jobs(): Generator<InrJob> {
    for (let i = 0; i < n; i++) yield { index: i, target: imagePixels(set, "train", i) };
  }
  let psnr = 0, steps = 0;
  const t0 = performance.now();
  fitter.run(jobs(), (r) => { psnr += r.psnr; steps += r.steps; });
  const secs = (performance.now() - t0) / 1000;
  fitter.dispose();
  return { inrs: n, inrsPerSec: n / secs, meanPsnr: psnr / n, meanSteps: steps / n, recipe: full, batch };
}
