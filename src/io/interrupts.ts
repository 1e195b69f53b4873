// What a signal (Ctrl-C's SIGINT, a scheduler's or Kubernetes' SIGTERM, a closed terminal's
// SIGHUP) does to a probegen command: the cleanups registered by what the command holds (folder
// locks, temporary folders) run, and the process exits with 128 + the signal's number, as a shell
// expects. Every file probegen writes is written atomically, so whatever had been written is
// whole; a run or build folder is left resumable. Long synchronous work gives the event loop a
// turn often (trainer.ts's trainYielding), so the handler runs between steps, not never.
// A command with its own way to stop (worker: give the jobs back first) takes the signals over.
import { constants } from "node:os";

type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
let installed = false;
let takenOver: ((signal: NodeJS.Signals) => void) | null = null;

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Registers `fn` to run if a signal stops the process; returns a function that unregisters it. */
export function atInterrupt(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => { cleanups.delete(fn); };
}

/** Runs every registered cleanup (each once; one that fails does not stop the rest). */
export function runInterruptCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch { /* the others still run */ }
  }
}

/** The exit status of a process stopped by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 15);
}

/** Installs the handlers (once, by the command line): cleanups, a line on stderr, then exit. */
export function installInterruptHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (takenOver !== null) { takenOver(signal); return; }
      runInterruptCleanups();
      process.stderr.write(`\nprobegen: stopped by ${signal}; what was written is whole, and rerunning the command (train with --resume) continues it\n`);
      process.exit(signalExitCode(signal));
    });
  }
}

/** Hands the signals to `handler` instead (a worker that stops gracefully); null gives them back. */
export function takeOverInterrupts(handler: ((signal: NodeJS.Signals) => void) | null): void {
  takenOver = handler;
}
