// probegen predictors [list] | rebuild | check: the predictors that ship with probegen.
import { installInterruptHandlers } from "../io/interrupts.js";
import { statSync } from "node:fs";
import { cardText, cardsMarkdown } from "../predict/predictor-card.js";
import { checkPredictor, rebuildPredictor } from "../predict/predictor-build.js";
import { PREDICTOR_RECIPES, predictorRecipe } from "../predict/predictor-recipes.js";
import { PREDICTORS_DIR, openPredictor, shippedPredictorNames } from "../predict/shipped-predictors.js";
import { UsageError, intArg, parseCommandArgs, requiredArg } from "./args.js";

export const PREDICTORS_USAGE = `Usage: probegen predictors [--json | --markdown]
       probegen predictors rebuild NAME... --work DIR [--out DIR] [--workers N]
       probegen predictors check NAME... --work DIR [--json]

Predictors that ship with probegen, ready to use: \`probegen predict --predictor NAME FILE...\`
(\`--example\` for the networks that ship beside them). With no subcommand, lists them with their
cards: what each predicts and from which networks, its zoos and commands, its test score with
the spread over seeds, what it costs a network.

  rebuild   makes predictors again from seed, as their recipes say: the zoos (in
            DIR/zoos), the runs of every seed (DIR/runs), then the predictor file and its
            examples in --out (default: the installed predictors folder). Resumes where it
            stopped. Hours for the CNN and Wild Park ones; minutes for shape-inr.
  check     builds one shard of a predictor's test zoo again (DIR/check) and compares the
            predictor's score on its test networks with its card's; exit code 1 if they differ

Options:
  --work DIR     folder for zoos, runs and checks (required by rebuild and check)
  --out DIR      where rebuild writes NAME.safetensors and examples/NAME/
  --workers N    zoo-building worker threads (2)
  --json         the cards, or the checks, as JSON
  --markdown     the cards as one Markdown table
  -h, --help     show this help`;

export async function predictorsCommand(argv: string[]): Promise<number> {
  const sub = argv[0] === "rebuild" || argv[0] === "check" || argv[0] === "list" ? argv[0] : undefined;
  const { values, positionals } = parseCommandArgs({
    args: sub === undefined ? argv : argv.slice(1), allowPositionals: true, strict: true,
    options: {
      work: { type: "string" }, out: { type: "string" }, workers: { type: "string" },
      json: { type: "boolean", default: false }, markdown: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) { console.log(PREDICTORS_USAGE); return 0; }
  if (values.json && values.markdown) throw new UsageError("--json and --markdown: choose one");
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const workers = intArg("workers", values.workers, 2, 1, 256);
  if (sub === undefined || sub === "list") {
    if (positionals.length > 0) throw new UsageError(`unknown predictors subcommand "${positionals[0]}" (expected rebuild or check)`);
    const shipped = shippedPredictorNames().map((name) => openPredictor(name));
    if (values.json) {
      console.log(JSON.stringify(shipped.map((p) => ({ ...p.card, file: p.file, bytes: statSync(p.file).size })), null, 2));
      return 0;
    }
    if (values.markdown) {
      console.log(cardsMarkdown(shipped.map((p) => ({ card: p.card, bytes: statSync(p.file).size }))));
      return 0;
    }
    if (shipped.length === 0) console.log(`no predictors are installed in ${PREDICTORS_DIR}`);
    for (const p of shipped) console.log(`${cardText(p.card, statSync(p.file).size).join("\n")}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`predictors ${sub} needs predictor names (${PREDICTOR_RECIPES.map((r) => r.name).join(", ")})`);
  const work = requiredArg("work", values.work);
  installInterruptHandlers();
  if (sub === "rebuild") {
    const recipes = positionals.map((n) => predictorRecipe(n) ?? (() => { throw new UsageError(`no recipe for a predictor named ${n} (there are ${PREDICTOR_RECIPES.map((r) => r.name).join(", ")})`); })());
    for (const r of recipes) {
      const report = await rebuildPredictor(r, work, values.out ?? PREDICTORS_DIR, { workers, log });
      console.log(cardText(report.card, report.bytes).join("\n"));
      console.log(`wrote ${report.file}\n`);
    }
    return 0;
  }
  const results = [];
  for (const name of positionals) {
    const p = openPredictor(name);
    const r = await checkPredictor(p, work, { workers, log });
    results.push({ name: p.card.name, ...r });
    if (!values.json) {
      const fmt = (v: number) => (p.card.metric === "accuracy" ? `${(100 * v).toFixed(2)}%` : v.toFixed(4));
      console.log(`${p.card.name}: ${r.got.networks} test networks of ${r.expected.zoo} shard ${r.expected.shard}: ${fmt(r.got.score)}; the card says ${fmt(r.expected.score)} over ${r.expected.networks}: ${r.equal ? "equal" : "DIFFERENT"}`);
    }
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
  return results.every((r) => r.equal) ? 0 : 1;
}
