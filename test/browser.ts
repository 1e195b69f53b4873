// Debian's chromium, driven by playwright-core, for the tests of pages (reports, the web page).
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

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
