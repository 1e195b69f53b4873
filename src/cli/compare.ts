// probegen compare: finished runs side by side, grouped by zoo, method and K.
import { compareMarkdown, compareRuns, compareText, finishedRuns, runFolders } from "../report/compare.js";
import { RunFolderError } from "../train/run-folder.js";
import { UsageError, parseCommandArgs } from "./args.js";

export const COMPARE_USAGE = `Usage: probegen compare RUN... [--json | --markdown]

Each RUN is a run folder, or a folder of runs (an experiment's output).

Groups finished runs by zoo, method (with its variant) and K — every other setting but the seed
must agree within a group — and gives each group's test score at the best validation step
(accuracy, or Kendall's tau) as mean ± sample standard deviation over its seeds, the seeds' own
scores, steps, training time and the FLOPs to represent one network. The results tables of docs/results.md
are its --markdown output.

Options:
  --json       the groups as JSON
  --markdown   a Markdown table (per zoo)
  -h, --help   show this help`;

export function compareCommand(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { json: { type: "boolean", default: false }, markdown: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) { console.log(COMPARE_USAGE); return 0; }
  if (positionals.length === 0) throw new UsageError("compare needs run folders");
  if (values.json && values.markdown) throw new UsageError("--json and --markdown: choose one");
  const { finished, unfinished } = finishedRuns(runFolders(positionals));
  // Runs still training (or stopped) are named and left out, not a reason to refuse the rest.
  if (unfinished.length > 0) process.stderr.write(`left out ${unfinished.length} unfinished run(s) (no result.json yet; resume with probegen train --resume): ${unfinished.join(", ")}\n`);
  if (finished.length === 0) throw new RunFolderError(positionals[0], "holds no finished run to compare");
  const groups = compareRuns(finished);
  if (values.json) console.log(JSON.stringify(groups, null, 2));
  else if (values.markdown) console.log(compareMarkdown(groups));
  else console.log(compareText(groups));
  return 0;
}
