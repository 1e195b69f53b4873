// Debian's chromium, driven by playwright-core, for the tests of pages (reports, the web page).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";

/** Debian's chromium, or null (then browser tests are skipped, except in CI, where they must run). */
export function chromiumPath(): string | null {
  for (const p of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (p && existsSync(p)) return p;
  return null;
}

/** Headless chromium with this machine's closed network in mind (no background connections). */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: chromiumPath()!,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** What a page logs as errors (console, uncaught, failed requests) and every request it makes, collected as they come. */
export function watchPage(page: Page): { errors: string[]; requests: string[] } {
  const errors: string[] = [], requests: string[] = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url().slice(0, 80)}`));
  page.on("request", (r) => requests.push(r.url()));
  return { errors, requests };
}

/** `probegen ui --port 0` (the command line at `cli`) started, with the page's address; stop() ends it. */
export async function serveUi(cli: string): Promise<{ url: string; stop: () => void }> {
  const server = spawn(process.execPath, [cli, "ui", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((ok, fail) => {
    let text = "";
    server.stdout.on("data", (d: Buffer) => { text += d.toString(); const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(text); if (m) ok(m[0]); });
    server.once("exit", (code) => fail(new Error(`probegen ui exited (${code})`)));
  });
  return { url, stop: () => { server.kill("SIGTERM"); } };
}
