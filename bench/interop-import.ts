// Import rates of the public layouts, measured end to end as a user runs them:
//   node dist/bench/interop-import.js [--files 70000] [--workers 2] [--cifar-gs] [--json]
// DWSNets: a synthetic INR zoo of the public sets' size (55k/5k/10k, random SIREN weights) is
// exported in DWSNets' MNIST layout (one .pth per INR), then imported; files/s is the import.
// --cifar-gs: a CIFAR10-GS-sized Small CNN Zoo (270,000 x 4970 float32, a 5.4 GB sparse
// weights.npy) imported at step 86; its time and peak resident memory (the import runs in a child
// process, so the peak is its own).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeSyntheticInrZoo } from "../src/workloads/paper-scale.js";
import { CIFAR10_GS_ROWS, writeSparseSmallCnnZoo } from "./sparse-small-cnn-zoo.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function probegen(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [cli, ...args, "--json"], { encoding: "utf8", maxBuffer: 2 ** 26, env: { ...process.env, CI: "true" } });
  if (r.status !== 0) throw new Error(`probegen ${args.join(" ")} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const { values } = parseArgs({
  options: { files: { type: "string" }, workers: { type: "string" }, "cifar-gs": { type: "boolean", default: false }, json: { type: "boolean", default: false } },
});
const files = Number(values.files ?? 70000);
const workers = Number(values.workers ?? 2);
const root = mkdtempSync(join(tmpdir(), "probegen-interop-bench-"));
const figures: Record<string, unknown> = { files, workers };
try {
  const test = Math.round(files / 7), val = Math.round(files / 14);
  writeSyntheticInrZoo(join(root, "zoo"), { train: files - test - val, val, test });
  const exported = probegen(["zoo", "export", join(root, "zoo"), "--format", "dwsnets", "--out", join(root, "dws")]);
  figures.exportSeconds = exported.seconds;
  const imported = probegen(["zoo", "import", "dwsnets", join(root, "dws", "mnist_splits.json"), "--out", join(root, "back"), "--workers", String(workers)]);
  figures.importSeconds = imported.seconds;
  figures.filesPerSec = Number(imported.imported) / Number(imported.seconds);
  figures.importPeakRssMiB = imported.peakRssMiB;
  if (values["cifar-gs"]) {
    const keep = writeSparseSmallCnnZoo(join(root, "cifar-gs"), CIFAR10_GS_ROWS, 3);
    const r = probegen(["zoo", "import", "small-cnn-zoo", join(root, "cifar-gs"), "--split", join(root, "cifar-gs", "nfn_split.csv"), "--out", join(root, "cifar-gs-zoo"), "--workers", String(workers)]);
    figures.cifarGs = { rows: CIFAR10_GS_ROWS, networks: r.count, expected: keep, seconds: r.seconds, peakRssMiB: r.peakRssMiB };
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
if (values.json) console.log(JSON.stringify(figures, null, 2));
else {
  console.log(`DWSNets layout, ${files} files: export ${Number(figures.exportSeconds).toFixed(1)} s; import ${Number(figures.importSeconds).toFixed(1)} s on ${workers} worker(s) = ${Number(figures.filesPerSec).toFixed(0)} files/s (peak RSS ${Number(figures.importPeakRssMiB).toFixed(0)} MiB)`);
  if (figures.cifarGs !== undefined) {
    const c = figures.cifarGs as Record<string, number>;
    console.log(`Small CNN Zoo, CIFAR10-GS size (${c.rows} rows, 5.4 GB sparse weights.npy): ${c.networks} networks at step 86 in ${c.seconds.toFixed(1)} s, peak RSS ${c.peakRssMiB.toFixed(0)} MiB`);
  }
}
