// probegen's two backends against PyTorch, in one run, as ratios (the machine changes between
// sessions, so only figures measured side by side compare):
//   node dist/bench/against-pytorch.js [--threads 2] [--only w1,w2,w3] [--python /usr/bin/python3] [--json]
// Runs `probegen bench --backends wasm,native` and bench/pytorch/workloads.py (Debian's
// python3-torch; OpenBLAS's and torch's threads both pinned to the count) one after the other,
// then prints each figure with probegen-native over PyTorch's best form (batched or a loop over
// networks). Measurement only: probegen itself never runs Python.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
// dist/bench/against-pytorch.js -> bench/pytorch/workloads.py (the source tree's, not dist's)
const script = fileURLToPath(new URL("../../bench/pytorch/workloads.py", import.meta.url));

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    only: { type: "string", default: "w1,w2,w3" },
    python: { type: "string", default: "/usr/bin/python3" },
    json: { type: "boolean", default: false },
  },
});
const threads = values.threads!;
const only = values.only!.split(",");

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Record<string, unknown> {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 2 ** 26, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

type Bench = Record<string, Record<string, number>> & { kernels: string; simd: string };
const pg = run(process.execPath, [cli, "bench", "--only", only.join(","), "--backends", "wasm,native", "--threads", threads, "--json"], {}) as { runs: Bench[] };
// PyTorch on one thread and on `threads`: its small-network loops often run faster on one.
const torchRuns = [...new Set(["1", threads])].map((t) =>
  run(values.python!, [script, "--threads", t, "--only", only.join(","), "--json"], { OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t }) as Record<string, number>);
const torch: Record<string, number> = { torch: torchRuns[0].torch };
for (const r of torchRuns) {
  for (const [k, v] of Object.entries(r)) {
    if (typeof v !== "number" || k === "threads") continue;
    torch[`${k.replace(/_(\w+?)_/, `_$1 ${r.threads}t_`)}`] = v;
  }
}

interface Row { figure: string; wasm: number; native: number; pytorch: number; pytorchForm: string; nativeOverWasm: number; nativeOverPytorch: number }
const rows: Row[] = [];
const best = (name: string): [number, string] => {
  const forms = Object.entries(torch).filter(([k]) => k.startsWith(`${name}_`)) as [string, number][];
  // Rates: the highest is best; seconds: the lowest.
  forms.sort((a, b) => (a[0].endsWith("Seconds") ? a[1] - b[1] : b[1] - a[1]));
  return forms.length === 0 ? [NaN, "-"] : [forms[0][1], forms[0][0].split("_")[1]];
};
const [wasm, native] = pg.runs;
const add = (figure: string, a: number | undefined, b: number | undefined, [t, form]: [number, string], lowerIsBetter = false) => {
  if (a === undefined || b === undefined) return;
  rows.push({ figure, wasm: a, native: b, pytorch: t, pytorchForm: form, nativeOverWasm: lowerIsBetter ? a / b : b / a, nativeOverPytorch: lowerIsBetter ? t / b : b / t });
};
add("W1 steps/s", wasm.w1?.stepsPerSec, native.w1?.stepsPerSec, best("w1"));
add("W2 steps/s", wasm.w2?.stepsPerSec, native.w2?.stepsPerSec, best("w2"));
add("GEMM 256^3 GFLOP/s", wasm.w3?.gemm256GFlops, native.w3?.gemm256GFlops, [torchRuns[torchRuns.length - 1].gemm256GFlops ?? NaN, `mm ${threads}t`]);
add("W4 steps/s", wasm.w4?.stepsPerSec, native.w4?.stepsPerSec, [NaN, "-"]);
add("W5 step seconds", wasm.w5?.stepSeconds, native.w5?.stepSeconds, best("w5"), true);

if (values.json) {
  console.log(JSON.stringify({ threads: Number(threads), torch: torch.torch, simd: { wasm: wasm.simd, native: native.simd }, rows, pytorch: torchRuns }, null, 2));
} else {
  console.log(`probegen (wasm ${wasm.simd}, native ${native.simd}; ${threads} thread(s)) against PyTorch ${torch.torch} (1 and ${threads} thread(s), its best form named)`);
  console.log("| figure | probegen wasm | probegen native | PyTorch (best form) | native / wasm | native / PyTorch |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  const f = (x: number) => (Number.isNaN(x) ? "-" : x >= 100 ? x.toFixed(0) : x.toFixed(2));
  for (const r of rows) console.log(`| ${r.figure} | ${f(r.wasm)} | ${f(r.native)} | ${f(r.pytorch)} (${r.pytorchForm}) | ${f(r.nativeOverWasm)}x | ${f(r.nativeOverPytorch)}x |`);
  console.log("Ratios are speed-ups: for seconds, the slower time over the faster.");
}
