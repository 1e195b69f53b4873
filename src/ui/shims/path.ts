// node:path in the web page: POSIX paths over the page's in-memory files.
export const sep = "/";

function normalizeParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") { if (out.length > 0 && out[out.length - 1] !== "..") out.pop(); continue; }
    out.push(p);
  }
  return out;
}

export function isAbsolute(p: string): boolean { return p.startsWith("/"); }

export function join(...ps: string[]): string {
  const joined = ps.filter((p) => p !== "").join("/");
  if (joined === "") return ".";
  const body = normalizeParts(joined.split("/")).join("/");
  const path = isAbsolute(joined) ? `/${body}` : body || ".";
  return joined.endsWith("/") && !path.endsWith("/") ? `${path}/` : path;
}

export function resolve(...ps: string[]): string {
  let path = "";
  for (let i = ps.length - 1; i >= 0 && !isAbsolute(path); i--) path = path === "" ? ps[i] : `${ps[i]}/${path}`;
  return `/${normalizeParts((isAbsolute(path) ? path : `/${path}`).split("/")).join("/")}`;
}

export function dirname(p: string): string {
  if (/^\/+$/.test(p)) return "/";
  const i = p.replace(/\/+$/, "").lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i);
}

export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, "").split("/").pop() ?? "";
  return ext !== undefined && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
}

export function extname(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf(".");
  return i <= 0 ? "" : b.slice(i);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter(Boolean), b = resolve(to).split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}

export const posix = { sep, isAbsolute, join, resolve, dirname, basename, extname, relative };
export default posix;
