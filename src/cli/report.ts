// probegen report: a run as one self-contained HTML page.
import { writeRunReport } from "../report/run-report.js";
import { UsageError, choiceArg, intArg, parseCommandArgs, THREADS_HELP } from "./args.js";

export const REPORT_USAGE = `Usage: probegen report RUN [--out FILE.html] [--checkpoint best|last] [--renders N] [--json]

Writes one self-contained HTML file (no script, nothing fetched from elsewhere: it opens offline)
showing the run's learning curves (train, val and test loss; val and test score over steps), its
checkpoint on the zoo's test split (a confusion matrix, or predicted against true with Kendall's
tau, R² and MAE), its probes (image probes as pictures; coordinate probes as points over renders
of test INRs), the FLOPs to represent one network, its config and the zoo's provenance.

Options:
  --out FILE         where to write it (RUN/report.html); an existing file is replaced only
                     when it is a probegen report
  --checkpoint NAME  best (default when the run has one) or last
  --renders N        test INRs drawn under coordinate probes (4)
  --json             print what was written as JSON
  -h, --help         show this help
${THREADS_HELP}`;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      out: { type: "string" }, checkpoint: { type: "string" }, renders: { type: "string" },
      json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) { console.log(REPORT_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("report takes one run folder");
  const checkpoint = values.checkpoint === undefined ? undefined : choiceArg("checkpoint", values.checkpoint, ["best", "last"] as const);
  const renders = intArg("renders", values.renders, 4, 0, 64);
  const r = await writeRunReport(positionals[0], values.out, { checkpoint, renders });
  if (values.json) console.log(JSON.stringify({ out: r.out, charts: r.charts, bytes: Buffer.byteLength(r.html), notes: r.notes }, null, 2));
  else {
    for (const n of r.notes) console.error(`note: ${n}`);
    console.log(`wrote ${r.out}: ${r.charts} charts, ${(Buffer.byteLength(r.html) / 1024).toFixed(0)} KiB, self-contained`);
  }
  return 0;
}
