// probegen ui: the web page, served on localhost or written as a static file.
import { createServer } from "node:http";
import { join } from "node:path";
import { makeDirectory } from "../io/dirs.js";
import { checkOutputFile, headText, writeOutputFile, type OutputKind } from "../io/output-file.js";
import { pageHtml } from "../ui/page-html.js";
import { UsageError, intArg, parseCommandArgs } from "./args.js";

export const UI_USAGE = `Usage: probegen ui [--port N] [--host ADDRESS]
       probegen ui --out DIR

A web page that predicts what a network is with the shipped predictors: drop a .pth, .pt or
.safetensors file (a DWSNets INR, a Small-CNN, shape INR or Wild Park checkpoint) or pick an
example. It holds the same engine and predictors as the command line and reads files with the
same safe readers; nothing leaves the page. Served, the page runs its kernels on every core (up
to 8; http://HOST:PORT/?threads=N asks for N); opened from disk, on one thread.

Options:
  --port N        serve the page on this port (8765); 0 picks a free one
  --host ADDRESS  the address to listen on (127.0.0.1: this machine only)
  --out DIR       write DIR/index.html instead: one file with everything inlined, which works
                  opened straight from disk (DIR/index.html must be new, or an earlier page,
                  which is replaced; any other file there is refused, untouched)
  -h, --help      show this help`;

const TITLE = "<title>probegen: what is this network?</title>";
const PAGE_FILE: OutputKind = { what: "a probegen page", recognise: (head) => headText(head).includes(TITLE) };

export async function uiCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: false, strict: true,
    options: { out: { type: "string" }, port: { type: "string" }, host: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) { console.log(UI_USAGE); return 0; }
  if (positionals.length > 0) throw new UsageError("ui takes no arguments");
  if (values.out !== undefined) {
    if (values.port !== undefined || values.host !== undefined) throw new UsageError("--out writes the page; --port and --host serve it: choose one");
    const file = join(values.out, "index.html");
    checkOutputFile(file, PAGE_FILE);
    const html = pageHtml();
    makeDirectory(values.out);
    writeOutputFile(file, html, PAGE_FILE);
    console.log(`wrote ${file} (${(Buffer.byteLength(html) / 2 ** 20).toFixed(1)} MiB): open it in a browser`);
    return 0;
  }
  const port = intArg("port", values.port, 8765, 0, 65535);
  const host = values.host ?? "127.0.0.1";
  const html = pageHtml();
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") { res.writeHead(405, { allow: "GET, HEAD" }).end(); return; }
    if (path !== "/" && path !== "/index.html") { res.writeHead(404, { "content-type": "text/plain" }).end("not found\n"); return; }
    // Cross-origin isolation: the page may then share its kernels' memory with Web Workers and
    // run them on every core (opened from disk, it runs them on one thread).
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8", "cache-control": "no-store",
      "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp",
    });
    res.end(req.method === "HEAD" ? undefined : html);
  });
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(port, host, resolve); });
  const addr = server.address();
  const actual = typeof addr === "object" && addr !== null ? addr.port : port;
  console.log(`probegen ui: http://${host.includes(":") ? `[${host}]` : host}:${actual}/ (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
