// The web page (`probegen ui`): the shipped predictors on a network the user drops, in the
// browser, with the command line's own code. Its files (the kernels' browser build, the
// predictors and their examples) come inlined in the page and are read through an in-memory
// node:fs (shims/fs.ts); a dropped file joins them and is read by the same safe readers, so the
// page refuses what the command line refuses, with the same message. Nothing leaves the page.
import { putFile, readFileSync } from "./shims/fs.js";
import { kernelPool, setThreads, usePageRuntime, type ActivationName } from "../engine/index.js";
import { parseSirenArchitecture, renderSiren } from "../nets/siren.js";
import { InputCollector } from "../predict/inputs.js";
import { networkAnswers, predictNetworks, type Prediction } from "../predict/predict.js";
import { cardText } from "../predict/predictor-card.js";
import { TrainedRun } from "../predict/run-model.js";
import { PREDICTORS_DIR, exampleFiles, openPredictor, shippedPredictorNames } from "../predict/shipped-predictors.js";
import { CNN_ACTIVATION_NAMES } from "../nets/cnn.js";

declare global {
  interface Window {
    /** The page's files, base64 by path (written into the page by page-html.ts). */
    PROBEGEN_FILES: Record<string, string>;
    /** Set once the page can take a file (for tests). */
    probegenReady?: boolean;
    /** The kernel threads the page runs on. */
    probegenThreads?: number;
    /** How many kernel calls were split over those threads so far. */
    probegenSplitCalls?: () => number;
  }
}

/** The kernels' memory in a page on one thread: 256 MiB, set aside at once (an unshared memory cannot grow under its views). */
const PAGE_MEMORY_PAGES = 4096;
/** The most kernel threads a page starts (?threads=N asks for another count, up to this). */
const MAX_PAGE_THREADS = 8;
const UPLOADS = "/uploads";

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function clear(el: HTMLElement): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

/** A grayscale picture of `values` (row-major, side x side) scaled from [lo, hi], drawn `scale` times larger. */
function picture(values: ArrayLike<number>, side: number, lo: number, hi: number, scale: number, title: string): HTMLCanvasElement {
  const c = element("canvas");
  c.width = side;
  c.height = side;
  c.style.width = c.style.height = `${side * scale}px`;
  c.title = title;
  const ctx = c.getContext("2d")!;
  const img = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = Math.max(0, Math.min(255, Math.round((255 * (values[i] - lo)) / (hi - lo || 1))));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

let busy = false;

/** Each predictor, read once: a drop or a change of predictor does not decode its file again. */
const predictors = new Map<string, TrainedRun>();
function predictorRun(name: string): TrainedRun {
  let run = predictors.get(name);
  if (run === undefined) {
    run = TrainedRun.fromPredictor(openPredictor(name));
    predictors.set(name, run);
  }
  return run;
}

async function predictFile(path: string, shown: string): Promise<void> {
  if (busy) return;
  busy = true;
  const out = $("prediction"), error = $("error");
  out.textContent = "";
  error.textContent = "";
  $("timing").textContent = "";
  const t0 = performance.now();
  try {
    const name = ($("predictor") as HTMLSelectElement).value;
    const run = predictorRun(name);
    const act = ($("activation") as HTMLSelectElement).value;
    const collector = new InputCollector(run, { activation: act === "" ? undefined : act as ActivationName });
    await collector.add(path);
    const inputs = collector.gather();
    const report = await predictNetworks(run, inputs);
    const p = report.predictions[0];
    out.textContent = describe(p);
    $("timing").textContent = `${shown}: answered in ${((performance.now() - t0) / 1000).toFixed(3)} s, in this page`;
    showAnswers(run, inputs, networkAnswers(run, inputs));
  } catch (e) {
    error.textContent = (e as Error).message;
    clear($("answers"));
  } finally {
    busy = false;
  }
}

function describe(p: Prediction): string {
  if (p.labelName !== undefined) {
    const top = p.top!.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join(", ");
    return `${p.labelName} (${top})${p.truth !== undefined ? `; truth ${p.truth}` : ""}`;
  }
  return `${p.score!.toFixed(4)}${p.truth !== undefined ? ` (truth ${Number(p.truth).toFixed(4)})` : ""}`;
}

/** The probes as pictures: images as images, coordinates as points on the unit square. */
function showProbes(run: TrainedRun): void {
  const box = $("probes");
  clear(box);
  const values = run.probeSource().forward().data;
  const shape = run.probeShape, k = run.probes;
  if (shape.length === 3) {
    const side = shape[1], size = shape[0] * side * shape[2];
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    for (let i = 0; i < k; i++) box.appendChild(picture(values.subarray(i * size, i * size + side * side), side, lo, hi, 2, `probe ${i}`));
    return;
  }
  box.appendChild(pointsPicture(values, shape[0], null, 4));
}

/** Coordinate probes (row, column in [-1, 1]) as dots, over an INR's rendering when given, drawn `scale` times the 28 x 28 grid. */
function pointsPicture(values: ArrayLike<number>, dims: number, under: Float32Array | null, scale: number): HTMLCanvasElement {
  const side = 28, size = side * scale;
  const c = element("canvas");
  c.width = c.height = size;
  const ctx = c.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, size);
  if (under !== null) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(picture(under, side, 0, 1, 1, ""), 0, 0, size, size);
  }
  ctx.fillStyle = "#d62728";
  for (let i = 0; i < values.length / dims; i++) {
    // The grid's pixel centres are at linspace(-1, 1, 28), row first.
    const at = (v: number) => (((v + 1) / 2) * (side - 1) + 0.5) * scale;
    const r = at(values[i * dims]), col = at(values[i * dims + 1]);
    ctx.beginPath();
    ctx.arc(col, r, Math.max(1.5, scale / 3), 0, 2 * Math.PI);
    ctx.fill();
  }
  return c;
}

/** What the network answered: an image INR drawn with the probes on it; a classifier's answer to each probe. */
function showAnswers(run: TrainedRun, inputs: ReturnType<InputCollector["gather"]>, answers: Float32Array): void {
  const box = $("answers");
  clear(box);
  const k = run.probes, out = run.outputsPerProbe;
  if (run.runFile.family === "siren" && run.probeShape[0] === 2 && inputs.zoo !== null) {
    const net = inputs.zoo.network(0);
    const arch = parseSirenArchitecture(inputs.zoo.manifest.architectures[net.architecture].architecture);
    box.appendChild(pointsPicture(run.probeSource().forward().data, 2, renderSiren(arch, net.params, 28), 6));
    box.appendChild(element("p", `the INR drawn on its 28 x 28 grid; the ${k} probes in red. Its answers: ${Array.from(answers.subarray(0, k), (v) => v.toFixed(2)).join(" ")}`));
    return;
  }
  if (out === 1) {
    box.appendChild(element("p", `its answers to the ${k} probes: ${Array.from(answers.subarray(0, k), (v) => v.toFixed(2)).join(" ")}`));
    return;
  }
  const names = run.runFile.labelNames.length === out ? run.runFile.labelNames : Array.from({ length: out }, (_, i) => String(i));
  const row = element("div", undefined, "classes");
  for (let i = 0; i < k; i++) {
    let best = 0;
    for (let c = 1; c < out; c++) if (answers[i * out + c] > answers[i * out + best]) best = c;
    row.appendChild(element("span", names[best], "class"));
  }
  box.appendChild(element("p", "the class it gives each probe, in the probes' order:"));
  box.appendChild(row);
}

function showPredictor(): void {
  const name = ($("predictor") as HTMLSelectElement).value;
  const run = predictorRun(name);
  const p = run.predictor!;
  $("card").textContent = cardText(p.card, 0).filter((l) => !l.trimStart().startsWith("size")).join("\n");
  $("activation-row").style.display = p.run.family === "cnn" && p.run.architecture !== undefined ? "" : "none";
  showProbes(run);
  const ex = $("examples");
  clear(ex);
  for (const file of exampleFiles(name)) {
    const b = element("button", file.split("/").pop()!);
    b.onclick = () => void predictFile(file, `example ${file.split("/").pop()}`);
    ex.appendChild(b);
  }
  clear($("answers"));
  $("prediction").textContent = "";
  $("error").textContent = "";
}

/**
 * The kernel threads this page can run: one unless it is cross-origin isolated (served by
 * `probegen ui`, which sends the headers), since only then may its memory be shared with
 * Web Workers; then every core, up to MAX_PAGE_THREADS, or ?threads=N.
 */
function pageThreads(): number {
  if (!globalThis.crossOriginIsolated || typeof SharedArrayBuffer !== "function") return 1;
  const asked = Number(new URLSearchParams(location.search).get("threads") ?? NaN);
  const n = Number.isInteger(asked) && asked >= 1 ? asked : navigator.hardwareConcurrency || 1;
  return Math.min(n, MAX_PAGE_THREADS);
}

/** The page's kernels started: their thread count, and why threads were given up, if they were. */
async function startKernels(): Promise<{ threads: number; why?: string }> {
  const threads = pageThreads();
  const oneThread = () => {
    setThreads(1);
    // Where the shared memory is already running (a thread failed to start), the page stays on it.
    try { usePageRuntime(readFileSync("/probegen/build/kernels-browser.wasm"), { pages: PAGE_MEMORY_PAGES }); } catch { /* running */ }
  };
  if (threads === 1) {
    oneThread();
    return { threads: 1 };
  }
  try {
    usePageRuntime(readFileSync("/probegen/build/kernels.wasm"), "shared");
    setThreads(threads);
    await kernelPool().started();
    return { threads };
  } catch (e) {
    // A browser that cannot set aside a shared memory of 4 GiB (32-bit), or a Web Worker that
    // failed: the page still answers, on one thread.
    oneThread();
    return { threads: 1, why: (e as Error).message };
  }
}

async function start(): Promise<void> {
  for (const [path, b64] of Object.entries(window.PROBEGEN_FILES)) putFile(path, decodeBase64(b64));
  const { threads, why } = await startKernels();
  $("threads").textContent = threads > 1
    ? `kernels on ${threads} threads`
    : why !== undefined ? `kernels on one thread: threads could not start (${why})`
      : `kernels on one thread${globalThis.crossOriginIsolated ? "" : " (served by `probegen ui`, the page runs them on every core)"}`;
  window.probegenThreads = threads;
  window.probegenSplitCalls = () => kernelPool().splitCalls;
  const select = $("predictor") as HTMLSelectElement;
  for (const name of shippedPredictorNames(PREDICTORS_DIR)) {
    const o = element("option", `${name}: ${predictorRun(name).predictor!.card.title}`);
    o.value = name;
    select.appendChild(o);
  }
  const act = $("activation") as HTMLSelectElement;
  for (const a of ["", ...CNN_ACTIVATION_NAMES]) {
    const o = element("option", a === "" ? "from the file" : a);
    o.value = a;
    act.appendChild(o);
  }
  select.onchange = showPredictor;
  const input = $("file") as HTMLInputElement;
  input.onchange = async () => {
    const f = input.files?.[0];
    if (f === undefined) return;
    const path = `${UPLOADS}/${f.name.replace(/[/\\]/g, "_")}`;
    putFile(path, new Uint8Array(await f.arrayBuffer()));
    await predictFile(path, f.name);
  };
  document.body.ondragover = (e) => e.preventDefault();
  document.body.ondrop = async (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f === undefined) return;
    const path = `${UPLOADS}/${f.name.replace(/[/\\]/g, "_")}`;
    putFile(path, new Uint8Array(await f.arrayBuffer()));
    await predictFile(path, f.name);
  };
  showPredictor();
  window.probegenReady = true;
}

start().catch((e: unknown) => {
  document.getElementById("error")!.textContent = `the page could not start: ${(e as Error).message}`;
});
