#!/usr/bin/env node
// The probegen command line.
import { PROBEGEN_VERSION } from "../version.js";
import { UsageError, printable, takeBackendOption, takeFlag, takeThreadsOption } from "./args.js";
import { breakLocks } from "../io/folder-lock.js";
import { buildOffMainThread } from "../zoo/shard-build.js";
import { setThreads } from "../engine/index.js";
import { nativeUnavailable } from "../engine/kernels/native.js";

const USAGE = `probegen ${PROBEGEN_VERSION}: learn what a trained network is from how it answers learned probes

Usage: probegen <command> [options]

Commands:
  demo      the main job: build a small MNIST INR zoo, train ProbeGen, vanilla and fixed
            probes on it, and compare them (about 3 minutes the first time); --task cnn
            predicts the test accuracy of Fashion-MNIST Small CNNs instead (about 10 minutes)
  zoo       build, import, export, inspect and render model zoos (zoo build
            inr|cnn|resnet|wild-park|shape-inr,
            zoo import dwsnets|small-cnn-zoo|wild-park|torchvision|onnx, zoo export, zoo info,
            zoo render)
  train     train a probing model (ProbeGen, vanilla or fixed probes) on a zoo
  eval      evaluate a trained run: accuracy, per-class accuracy, confusion matrix
  predict   predict networks nobody labelled with a trained run or a shipped predictor
            (--predictor NAME): files (.pth, .safetensors), zoos, public layouts, or answers
            to its probes computed anywhere
  predictors  the predictors that ship with probegen, with their cards (rebuild, check)
  ui        a web page that says what a dropped network is, with the shipped predictors
            (served on localhost, or written as one file with --out DIR)
  probes    export a run's probes for models probegen cannot load (probes export)
  report    a run as one self-contained HTML page: curves, test results, probes, config
  experiment  methods x K x seeds on a zoo, each run resumable in its own folder, then
            compare's table (--shard I/N for arrays of jobs)
  compare   finished runs side by side: mean ± std over seeds per zoo, method and K
  ablate    the paper's ablations (generator activation, K, generator size, learning
            rates) over seeds on a zoo: a table and a report with the curves
  worker    build zoo shards and predict networks from a job queue (zoo build or predict
            with --queue redis://HOST:PORT/NAME)
  bench     measure training-step rates (W1, W2), GEMM throughput (W3), zoo building and memory

Options:
  -h, --help     show help (also: probegen <command> --help)
  -v, --version  print the version
  --threads N    threads the kernels use, after any command (default: every core, or
                 PROBEGEN_THREADS); results are the same bytes for any N
  --backend NAME the kernels, after any command: native (this CPU's AVX-512 or AVX2,
                 compiled at install; the default where it built, and the only one whose
                 tensors may pass 4 GiB), wasm (WebAssembly SIMD; the default elsewhere) or
                 reference (plain TypeScript, slow); or PROBEGEN_BACKEND. Seeded results are
                 the same bytes for one backend on one machine; for bytes that match across
                 machines, use wasm with PROBEGEN_SIMD=baseline
  --json         (on the commands that have it) the result as one JSON document on stdout,
                 and no progress bars; errors and warnings still go to stderr
  --break-lock   after any command that writes a folder (train, ablate, zoo build, zoo
                 import): take the folder's .probegen.lock even when it names a process on
                 another machine whose lease (10 min after its last heartbeat) has not
                 lapsed, such as a job requeued elsewhere. A live process on this machine
                 keeps its lock. Signals (SIGINT, SIGTERM, SIGHUP) release locks; the
                 folder stays resumable

Run \`probegen <command> --help\` for a command's options.`;

type Command = (argv: string[]) => number | Promise<number>;

/** Each command's module, loaded when it runs: `zoo info` does not load BullMQ, Vega or the kernels' workers. */
const commands: Record<string, () => Promise<Command>> = {
  bench: async () => (await import("./bench.js")).benchCommand,
  zoo: async () => (await import("./zoo.js")).zooCommand,
  train: async () => (await import("./train.js")).trainCommand,
  eval: async () => (await import("./train.js")).evalCommand,
  demo: async () => (await import("./demo.js")).demoCommand,
  predict: async () => (await import("./predict.js")).predictCommand,
  predictors: async () => (await import("./predictors.js")).predictorsCommand,
  ui: async () => (await import("./ui.js")).uiCommand,
  probes: async () => (await import("./predict.js")).probesCommand,
  compare: async () => (await import("./compare.js")).compareCommand,
  experiment: async () => (await import("./experiment.js")).experimentCommand,
  ablate: async () => (await import("./ablate.js")).ablateCommand,
  worker: async () => (await import("./worker.js")).workerCommand,
  report: async () => (await import("./report.js")).reportCommand,
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    console.log(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "-v" || cmd === "--version") { console.log(PROBEGEN_VERSION); return 0; }
  const load = commands[cmd];
  if (load === undefined) {
    console.error(`probegen: unknown command "${cmd}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const { threads, rest: afterThreads } = takeThreadsOption(rest);
    if (threads !== undefined) setThreads(threads);
    const { backend, rest: afterBackend } = takeBackendOption(afterThreads);
    // Through the environment, so that worker threads (zoo builds) run on the same kernels.
    if (backend !== undefined) process.env.PROBEGEN_BACKEND = backend;
    if (process.env.PROBEGEN_BACKEND === "native") {
      const why = nativeUnavailable();
      if (why !== null) throw new Error(`the native backend was asked for, but ${why}`);
    }
    const { on: breakLock, rest: args } = takeFlag(afterBackend, "--break-lock");
    breakLocks(breakLock);
    // Builds run on worker threads even with one worker, so a signal is handled at once.
    buildOffMainThread(true);
    const run = await load();
    return await run(args);
  } catch (e) {
    const err = e as Error & { code?: string };
    // A value out of range that names its option (a builder's "--count must be ...") is a usage error too.
    if (err instanceof UsageError || err.code?.startsWith("ERR_PARSE_ARGS") || (err instanceof RangeError && /^--[\w-]+ must be /.test(err.message))) {
      console.error(`probegen ${cmd}: ${printable(err.message)}\nRun \`probegen ${cmd} --help\` for usage.`);
      return 2;
    }
    console.error(`probegen ${cmd}: ${printable(err.message)}`);
    if (process.env.PROBEGEN_DEBUG) console.error(err.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
