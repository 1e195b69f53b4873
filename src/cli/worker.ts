// probegen worker: builds zoo shards, predicts networks and trains the runs of experiments and
// ablations from a job queue, on any machine that sees the same folders.
import { parseQueueAddress } from "../queue/queue-address.js";
import { startQueueWorker } from "../queue/worker.js";
import { UsageError, intArg, parseCommandArgs, requiredArg, THREADS_HELP } from "./args.js";
import { installInterruptHandlers, runInterruptCleanups, signalExitCode, takeOverInterrupts } from "../io/interrupts.js";

export const WORKER_USAGE = `Usage: probegen worker --queue redis://HOST:PORT/NAME [options]

Takes jobs from the queue that \`probegen zoo build ... --queue\`, \`probegen predict ... --queue\`,
\`probegen experiment ... --queue\` or \`probegen ablate ... --queue\` filled: builds each shard into
the build's folder, predicts a run of network files, or trains a run of a grid (resuming it
from its last checkpoint when a worker before it was stopped). Folders
and files must be at the same paths on every machine (shared storage such as NFS). Runs until
stopped: SIGINT or SIGTERM finish the jobs in hand first, for at most --stop-seconds, then the
worker leaves (a second signal leaves at once) and exits 130 or 143. A worker killed mid-shard or mid-run leaves its job to be retried elsewhere once its lock lapses; if Redis
goes away, the worker says so and waits for it.

Options:
  --queue URL          redis://HOST:PORT/NAME (required)
  --concurrency N      shards built or runs trained at once by this process (1); each uses
                       --threads kernel threads, so prefer one process per machine with every
                       core, or --threads 1 and --concurrency of the cores
  --lock-seconds S     how long a job's lock lasts without renewal, i.e. how soon the shard of
                       a killed worker is retried (30)
  --stop-seconds S     after SIGINT or SIGTERM, how long the jobs in hand may take to finish
                       before the worker leaves them to the queue (25: within Kubernetes'
                       default 30 s grace period)
  -h, --help           show this help
${THREADS_HELP}`;

export async function workerCommand(argv: string[]): Promise<number> {
  installInterruptHandlers();
  const { values } = parseCommandArgs({
    args: argv, strict: true,
    options: {
      queue: { type: "string" }, concurrency: { type: "string" }, "lock-seconds": { type: "string" }, "stop-seconds": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) { console.log(WORKER_USAGE); return 0; }
  let address;
  try {
    address = parseQueueAddress(requiredArg("queue", values.queue));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const worker = startQueueWorker(address, {
    concurrency: intArg("concurrency", values.concurrency, 1, 1, 64),
    lockSeconds: intArg("lock-seconds", values["lock-seconds"], 30, 1, 86_400),
    log,
  });
  log(`worker ${process.pid}: taking jobs from ${address.url}`);
  const graceSeconds = intArg("stop-seconds", values["stop-seconds"], 25, 0, 86_400);
  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const leave = (signal: NodeJS.Signals, why: string) => {
      log(`worker ${process.pid}: ${why}; leaving now: jobs in hand go back to the queue when their locks lapse (--lock-seconds)`);
      void worker.close(true).catch(() => {});
      runInterruptCleanups();
      process.exit(signalExitCode(signal));
    };
    // The worker's own stop: jobs in hand are finished first, for at most --stop-seconds (a
    // Redis that cannot be reached would otherwise hold the process forever).
    takeOverInterrupts((signal) => {
      if (stopping) leave(signal, `${signal} again`);
      stopping = true;
      log(`worker ${process.pid}: ${signal}: finishing the jobs in hand (for at most ${graceSeconds} s; a second signal stops at once)`);
      const timer = setTimeout(() => leave(signal, `the jobs in hand did not finish within ${graceSeconds} s`), graceSeconds * 1000);
      void worker.close().then(() => { clearTimeout(timer); takeOverInterrupts(null); resolveStop(); }, () => leave(signal, "closing failed"));
    });
  });
  return 0;
}
