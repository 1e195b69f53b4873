// Progress for long work: a redrawn bar on a terminal, plain periodic lines elsewhere (CI, logs).

export interface Progress {
  /** done out of total, with an optional note (e.g. the last PSNR). */
  update(done: number, note?: string): void;
  /** Changes the total (a build part learns its share once the build is planned). */
  setTotal(total: number): void;
  finish(note?: string): void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

export function createProgress(label: string, total: number, unit: string,
  stream: NodeJS.WriteStream | null = process.stderr): Progress {
  if (stream === null) return { update() {}, setTotal() {}, finish() {} };
  const tty = stream.isTTY === true && process.env.CI !== "true";
  const start = performance.now();
  let first: { t: number; done: number } | null = null;
  let lastDraw = 0;
  let lastLine = start;
  const line = (done: number, note?: string) => {
    if (first === null) first = { t: performance.now(), done };
    const now = performance.now();
    const dt = (now - first.t) / 1000;
    const rate = dt > 0 ? (done - first.done) / dt : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const pct = total > 0 ? (100 * done) / total : 100;
    return { text: `${label} ${done}/${total} ${unit} (${pct.toFixed(1)}%) ${rate.toFixed(2)} ${unit}/s ETA ${fmtTime(eta)}${note ? ` ${note}` : ""}`, pct };
  };
  return {
    update(done, note) {
      const now = performance.now();
      // The rate counts from the first update, so work skipped before it (a resumed build) is not counted.
      if (first === null) first = { t: now, done };
      if (tty) {
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        const { text, pct } = line(done, note);
        const width = 24, fill = Math.round((width * pct) / 100);
        stream.write(`\r[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${text}\x1b[K`);
      } else {
        if (now - lastLine < 10_000 && done < total && done > 0) return;
        lastLine = now;
        stream.write(`${line(done, note).text}\n`);
      }
    },
    setTotal(n) {
      total = n;
    },
    finish(note) {
      const secs = (performance.now() - start) / 1000;
      stream.write(`${tty ? "\r\x1b[K" : ""}${label} done in ${fmtTime(secs)}${note ? `: ${note}` : ""}\n`);
    },
  };
}
