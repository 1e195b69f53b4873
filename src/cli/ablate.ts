// probegen ablate: one of the paper's ablation grids over seeds on one zoo, resumable run by
// run, then its table (ablation.md) and its report with the curves (report.html).
import { installInterruptHandlers } from "../io/interrupts.js";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ABLATION_GRIDS, ablationRuns, type AblationGrid } from "../train/ablation.js";
import { DEFAULT_TRAIN_CONFIG, TRAIN_RECIPES, TRAIN_RECIPE_NAMES, validateTrainConfig, type TrainConfig, READOUT_CHOICES } from "../train/config.js";
import { planPart } from "../train/run-plan.js";
import { trainGrid } from "./grid.js";
import { ablationMarkdown, ablationReportHtml, ablationRows } from "../report/ablation-report.js";
import { refuseForeignReport } from "../report/html.js";
import { writeFileAtomic } from "../io/atomic.js";
import { readRegularFile } from "../io/read-file.js";
import { FileWriteError } from "../file-error.js";
import { zooArchitectures } from "../zoo/architectures.js";
import { Zoo, rangesSize } from "../zoo/format.js";
import { choiceArg, intArg, numArg, parseCommandArgs, requiredArg, shardArg, THREADS_HELP } from "./args.js";

const d = DEFAULT_TRAIN_CONFIG;

export const ABLATE_USAGE = `Usage: probegen ablate --zoo DIR --grid NAME --out DIR [options]

Trains one of the paper's ablation grids on a zoo, every variant over --seeds seeds, into
OUT/<variant>-seed<S> (rerun the same command to resume: finished runs are kept, a stopped one
resumes), then writes OUT/ablation.md, a table of each variant's test score at the best
validation step (mean ± std over seeds) with its training loss, test loss and their gap, and
OUT/report.html with the curves: the generalisation gap and the test score over training, and
each variant's train, val and test loss.

Grids (--grid):
  activation   ProbeGen's deep linear generator, the same generator with ReLU between its
               layers, and vanilla probing (the paper's Figure 4)
  probes       ProbeGen and vanilla probing at K = 8, 16, 32, 64, 128 (its Table 6)
  generator    the generator's depth (image zoos: 5 or 6 layers; INR zoos: one or two hidden
               layers), widths x 0.5 / 1 / 2, latent size 8 / 32 / 128
  lr           lr / 3, lr, lr x 3 for the whole model; then the head at lr with the generator
               at lr / 3, lr x 3, lr x 10 (--probe-lr of train)

Options:
  --zoo DIR          the zoo (required)
  --grid NAME        activation, probes, generator or lr (required)
  --out DIR          a new or empty folder, or this ablation's own (required)
  --recipe NAME      default, or paper: the paper's exact recipe (its generator started as
                     initialised) as the base of every variant
  --readout NAME     auto, logits or hidden: what every variant's head reads (train's
                     --readout; ${d.readout})
  --seeds N          seeds per variant (3)
  --first-seed S     the first seed (0)
  --probes K         probes where the grid does not set K (${d.probes})
  --epochs N         epochs per run (${d.epochs})
  --eval-every N     steps between evaluations (default: about 20 evaluations per run)
  --batch N          networks per step (${d.batch})
  --lr X             the base learning rate (${d.lr})
  --data DIR         folder of the image set's IDX files (data probes; not used by the grids)
  --shard I/N        train only part I of N of the grid (runs r with r % N = I), for SLURM arrays
                     or Kubernetes Indexed Jobs on one shared folder; the part that finds every
                     run finished writes the table and report
  --queue URL        train on a job queue (redis://HOST:PORT/NAME): one job per run, for
                     \`probegen worker\` processes on machines that see the same folders (a run
                     whose worker dies resumes elsewhere from its last checkpoint)
  --json             print the rows as JSON
  -h, --help         show this help
${THREADS_HELP}`;

/** What OUT/ablation.json records: the folder belongs to this ablation. */
interface AblationFile { grid: AblationGrid; zoo: string; seeds: number; firstSeed: number; base: Omit<TrainConfig, "seed"> }

const FILE = "ablation.json";

function claimFolder(out: string, plan: AblationFile): void {
  const file = join(out, FILE);
  if (existsSync(file)) {
    let had: AblationFile;
    try {
      had = JSON.parse(Buffer.from(readRegularFile(file, 2 ** 24)).toString("utf8")) as AblationFile;
    } catch (e) {
      throw new FileWriteError(file, `is not an ablation's record (${(e as Error).message}); choose another --out`);
    }
    if (had.grid !== plan.grid || had.zoo !== plan.zoo || JSON.stringify(had.base) !== JSON.stringify(plan.base)) {
      throw new FileWriteError(out, `holds the "${had.grid}" ablation of ${had.zoo} with other settings; choose another --out`);
    }
  } else if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) {
    throw new FileWriteError(out, "exists and is not an ablation's folder (no ablation.json); choose a new or empty --out");
  }
  mkdirSync(out, { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(plan, null, 2)}\n`);
}

export async function ablateCommand(argv: string[]): Promise<number> {
  installInterruptHandlers();
  const { values } = parseCommandArgs({
    args: argv, strict: true,
    options: {
      zoo: { type: "string" }, grid: { type: "string" }, out: { type: "string" }, seeds: { type: "string" }, "first-seed": { type: "string" },
      probes: { type: "string" }, epochs: { type: "string" }, "eval-every": { type: "string" }, batch: { type: "string" }, lr: { type: "string" },
      data: { type: "string" }, recipe: { type: "string" }, readout: { type: "string" }, shard: { type: "string" }, queue: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) { console.log(ABLATE_USAGE); return 0; }
  const zooDir = resolve(requiredArg("zoo", values.zoo));
  const grid = choiceArg("grid", requiredArg("grid", values.grid), ABLATION_GRIDS);
  const out = resolve(requiredArg("out", values.out));
  const seeds = intArg("seeds", values.seeds, 3, 1, 100);
  const firstSeed = intArg("first-seed", values["first-seed"], 0, 0);
  const epochs = intArg("epochs", values.epochs, d.epochs, 1);
  const batch = intArg("batch", values.batch, d.batch, 1);
  const zoo = Zoo.open(zooDir);
  const images = zooArchitectures(zoo.manifest, join(zooDir, "zoo.json"))[0].probeShape.length === 3;
  const stepsPerRun = epochs * Math.ceil(rangesSize(zoo.manifest.splits.train) / batch);
  const recipe = TRAIN_RECIPES[choiceArg("recipe", values.recipe, TRAIN_RECIPE_NAMES, "default")];
  const base: TrainConfig = {
    ...recipe, zoo: zooDir, probes: intArg("probes", values.probes, d.probes, 1), epochs, batch,
    lr: numArg("lr", values.lr, d.lr, 0, true),
    readout: choiceArg("readout", values.readout, READOUT_CHOICES, recipe.readout),
    evalEvery: intArg("eval-every", values["eval-every"], Math.max(1, Math.round(stepsPerRun / 20)), 1),
    ...(values.data !== undefined ? { dataDir: values.data } : {}),
  };
  validateTrainConfig(base);
  const { seed: _seed, ...recorded } = base;
  claimFolder(out, { grid, zoo: zooDir, seeds, firstSeed, base: recorded });
  const plan = ablationRuns(out, base, grid, images, seeds, firstSeed);
  const all = plan.flatMap((p) => p.runs);
  const part = shardArg(values.shard);
  const runs = planPart(all, part);
  if (part !== undefined) process.stderr.write(`part ${part.index}/${part.count}: ${runs.length} of the grid's ${all.length} runs\n`);
  const failures = await trainGrid(runs, values.queue, part, { quiet: values.json, log: (l) => process.stderr.write(`${l}\n`), title: `ablation ${grid}` });
  if (failures.length > 0) return 1;
  const unfinished = all.filter((r) => !existsSync(join(r.dir, "result.json"))).length;
  if (unfinished > 0) {
    // Another part's runs are still to come: the last part to finish (or a rerun) writes the table.
    process.stderr.write(`${all.length - unfinished} of the grid's ${all.length} runs are finished; the table and report come once all are (rerun the command, or the other parts)\n`);
    return 0;
  }
  const rows = ablationRows(plan.map((p) => ({ variant: p.variant, dirs: p.runs.map((r) => r.dir) })));
  const table = ablationMarkdown(rows);
  const description = `The "${grid}" ablation on ${zooDir}: ${seeds} seed${seeds === 1 ? "" : "s"} from ${firstSeed}, K = ${base.probes} where the grid does not set it, ${epochs} epochs of batch ${batch}, lr ${base.lr}; the test score is taken at the best validation step, losses at the last evaluation.`;
  writeFileAtomic(join(out, "ablation.md"), `${description}\n\n${table}\n`);
  const reportFile = join(out, "report.html");
  refuseForeignReport(reportFile);
  const report = await ablationReportHtml(`probegen ablation: ${grid}`, description, rows);
  writeFileAtomic(reportFile, report.html);
  if (values.json) {
    console.log(JSON.stringify(rows.map((r) => ({ variant: r.variant.name, description: r.variant.description, probes: r.group.probes, score: r.group.score,
      mean: r.group.mean, std: r.group.std, seeds: r.group.seeds, tests: r.group.tests, trainLoss: r.trainLoss, testLoss: r.testLoss, gap: r.gap,
      steps: r.group.steps, seconds: r.group.seconds, runs: r.group.runs })), null, 2));
  } else {
    console.log(`${table}\n\ntable: ${join(out, "ablation.md")}\nreport: ${reportFile} (${report.charts} charts)`);
  }
  return 0;
}
