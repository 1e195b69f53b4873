#!/usr/bin/env node
// The probegen command line.
import { parseArgs } from "node:util";
import { runBench } from "../../bench/run.js";

const VERSION = "0.1.0";

const USAGE = `probegen ${VERSION}: learn what a trained network is from how it answers learned probes

Usage: probegen <command> [options]

Commands:
  bench     measure training-step rates (W1, W2), GEMM throughput (W3) and memory

Options:
  -h, --help     show help (also: probegen <command> --help)
  -v, --version  print the version

Run \`probegen <command> --help\` for a command's options.`;

const BENCH_USAGE = `Usage: probegen bench [--json] [--only w1,w2,w3] [--quick]

Measures, on one thread:
  W1  one training step of 32 SIREN INRs x 64 ProbeGen probes with the 6-layer head (steps/s)
  W2  one training step of 32 small CNNs x 64 image probes from the 5-layer generator (steps/s)
  W3  GEMM 256x256x256 and batched 32 x (64x32 . 32x32) (GFLOP/s)
and the peak resident memory.

Options:
  --json         print the figures as one JSON object on stdout
  --only LIST    comma-separated subset of w1,w2,w3
  --quick        short runs (a smoke test, not a measurement)
  -h, --help     show this help`;

class UsageError extends Error {}

function bench(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: "boolean", default: false },
      only: { type: "string" },
      quick: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(BENCH_USAGE); return 0; }
  const only = values.only?.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  for (const o of only ?? []) if (!["w1", "w2", "w3"].includes(o)) throw new UsageError(`--only: unknown workload "${o}" (expected w1, w2, w3)`);
  const r = runBench({ only, quick: values.quick, log: values.json ? null : undefined });
  if (values.json) {
    console.log(JSON.stringify(r, null, 2));
  } else {
    const rows: [string, string][] = [];
    if (r.w1) rows.push(["W1 steps/s", r.w1.stepsPerSec.toFixed(1)], ["W1 models/s", r.w1.modelsPerSec.toFixed(0)]);
    if (r.w2) rows.push(["W2 steps/s", r.w2.stepsPerSec.toFixed(2)], ["W2 models/s", r.w2.modelsPerSec.toFixed(1)]);
    if (r.w3) rows.push(["GEMM 256^3 GFLOP/s", r.w3.gemm256GFlops.toFixed(1)], ["batched GEMM GFLOP/s", r.w3.batchedGemmGFlops.toFixed(1)]);
    rows.push(["peak RSS MiB", r.memory.peakRssMiB.toFixed(0)], ["peak tensor MiB", r.memory.peakTensorMiB.toFixed(1)]);
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nprobegen bench (${r.kernels} kernels, 1 thread, node ${r.node})`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  }
  return 0;
}

const commands: Record<string, (argv: string[]) => number | Promise<number>> = { bench };

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    console.log(USAGE);
    return cmd === undefined ? 1 : 0;
  }
  if (cmd === "-v" || cmd === "--version") { console.log(VERSION); return 0; }
  const run = commands[cmd];
  if (run === undefined) {
    console.error(`probegen: unknown command "${cmd}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`probegen ${cmd}: ${(e as Error).message}\nRun \`probegen ${cmd} --help\` for usage.`);
      return 2;
    }
    console.error(`probegen ${cmd}: ${(e as Error).message}`);
    if (process.env.PROBEGEN_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
