// probegen experiment: methods x K x seeds on one zoo, each run in its own folder, resumable run
// by run (or one part of the grid, --shard I/N), ending with compare's table.
import { installInterruptHandlers } from "../io/interrupts.js";
import { existsSync, statSync } from "node:fs";
import { compareMarkdown, compareRuns, compareText, finishedRuns } from "../report/compare.js";
import { DEFAULT_TRAIN_CONFIG, READOUT_CHOICES, TRAIN_RECIPE_NAMES } from "../train/config.js";
import { EXPERIMENT_BASE_METHODS, experimentRuns, isExperimentMethod } from "../train/experiment.js";
import { planPart } from "../train/run-plan.js";
import { trainGrid } from "./grid.js";
import { UsageError, choiceArg, intArg, numArg, parseCommandArgs, requiredArg, shardArg, THREADS_HELP } from "./args.js";

const d = DEFAULT_TRAIN_CONFIG;

export const EXPERIMENT_USAGE = `Usage: probegen experiment --zoo DIR --out DIR [options]

Trains every method x K x seed on one zoo, each run in OUT/<method>-k<K>-seed<S> (rerun the
same command to resume: finished runs are kept, a stopped one resumes from its last
checkpoint), then prints compare's table of them: the test score at the best validation step as
mean ± std over seeds, with the FLOPs to represent a network. The results tables of
docs/results.md are its --markdown output.

Methods (--methods, comma-separated): ${EXPERIMENT_BASE_METHODS.join(", ")}, or auto (the
default predictor). probegen and probegen6 (6-layer image generator) start their generator as
initialised, the paper's recipe; probegen-from-data and probegen-from-dead-leaves start it fitted
to images; vanilla-uniform starts vanilla probes U(-1,1). Append -hidden or -labelled to a method
for that readout (e.g. data-labelled, probegen-hidden).

Options:
  --zoo DIR          the zoo (required)
  --out DIR          the experiment's folder (required)
  --methods LIST     (probegen,vanilla,uniform)
  --probes LIST      values of K (${d.probes})
  --seeds N          seeds per method and K (3)
  --first-seed S     the first seed (0)
  --readout NAME     ${READOUT_CHOICES.join(", ")}: what every run's head reads where its method's
                     name does not say (default: logits, or the method's own)
  --recipe NAME      ${TRAIN_RECIPE_NAMES.join(" or ")}: the settings every run starts from (default)
  --epochs N         epochs per run (${d.epochs})
  --eval-every N     steps between evaluations (${d.evalEvery})
  --batch N          networks per step (${d.batch})
  --lr X             learning rate (${d.lr})
  --data DIR         folder of the image set's IDX files (data probes)
  --shard I/N        train only part I of N of the grid (runs r with r % N = I, in the order K,
                     method, seed), for SLURM arrays or Kubernetes Indexed Jobs on one shared
                     folder; the table then covers the runs finished so far
  --queue URL        train on a job queue (redis://HOST:PORT/NAME): one job per run, trained
                     by \`probegen worker\` processes on machines that see the same folders; a
                     run whose worker dies resumes elsewhere from its last checkpoint; a run
                     that fails on every try is named with its error (exit code 1)
  --json             the table's groups as JSON
  --markdown         the table as Markdown
  -h, --help         show this help
${THREADS_HELP}`;

export async function experimentCommand(argv: string[]): Promise<number> {
  installInterruptHandlers();
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: false, strict: true,
    options: {
      zoo: { type: "string" }, out: { type: "string" }, methods: { type: "string" }, probes: { type: "string" }, seeds: { type: "string" },
      "first-seed": { type: "string" }, readout: { type: "string" }, recipe: { type: "string" }, epochs: { type: "string" },
      "eval-every": { type: "string" }, batch: { type: "string" }, lr: { type: "string" }, data: { type: "string" }, shard: { type: "string" }, queue: { type: "string" },
      json: { type: "boolean", default: false }, markdown: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) { console.log(EXPERIMENT_USAGE); return 0; }
  if (positionals.length > 0) throw new UsageError("experiment takes options only");
  if (values.json && values.markdown) throw new UsageError("--json and --markdown: choose one");
  const zoo = requiredArg("zoo", values.zoo), out = requiredArg("out", values.out);
  if (!existsSync(zoo) || !statSync(zoo).isDirectory()) throw new UsageError(`--zoo ${zoo} is not a folder`);
  const methods = (values.methods ?? "probegen,vanilla,uniform").split(",").map((m) => m.trim());
  const unknown = methods.find((m) => !isExperimentMethod(m));
  if (unknown !== undefined) throw new UsageError(`--methods: unknown method "${unknown}" (methods: ${EXPERIMENT_BASE_METHODS.join(", ")}, auto; -hidden or -labelled may follow)`);
  const probes = (values.probes ?? String(d.probes)).split(",").map((k) => intArg("probes", k.trim(), 0, 1, 16_384));
  const runs = experimentRuns({
    zoo, out, methods: methods as Parameters<typeof experimentRuns>[0]["methods"], probes,
    seeds: intArg("seeds", values.seeds, 3, 1, 1000), firstSeed: intArg("first-seed", values["first-seed"], 0, 0),
    recipe: values.recipe === undefined ? undefined : choiceArg("recipe", values.recipe, TRAIN_RECIPE_NAMES),
    readout: values.readout === undefined ? undefined : choiceArg("readout", values.readout, READOUT_CHOICES),
    settings: {
      epochs: intArg("epochs", values.epochs, d.epochs, 1), evalEvery: intArg("eval-every", values["eval-every"], d.evalEvery, 1),
      batch: intArg("batch", values.batch, d.batch, 1), lr: numArg("lr", values.lr, d.lr, 0), ...(values.data === undefined ? {} : { dataDir: values.data }),
    },
  });
  const part = shardArg(values.shard);
  const mine = planPart(runs, part);
  const quiet = values.json || values.markdown;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (part !== undefined) log(`part ${part.index}/${part.count}: ${mine.length} of the grid's ${runs.length} runs`);
  const failures = await trainGrid(mine, values.queue, part, { quiet, log, title: "experiment" });
  const { finished, unfinished } = finishedRuns(runs.map((r) => r.dir).filter((dir) => existsSync(dir)));
  if (unfinished.length > 0 || finished.length < runs.length) log(`${finished.length} of the grid's ${runs.length} runs are finished; the table shows those`);
  if (finished.length > 0) {
    const groups = compareRuns(finished);
    if (values.json) console.log(JSON.stringify(groups, null, 2));
    else if (values.markdown) console.log(compareMarkdown(groups));
    else console.log(compareText(groups));
  }
  return failures.length > 0 ? 1 : 0;
}
