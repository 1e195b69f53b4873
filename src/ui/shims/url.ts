// node:url in the web page: file URLs to the in-memory files' paths.
export function fileURLToPath(u: string | URL): string {
  return decodeURIComponent(new URL(String(u)).pathname);
}
export function pathToFileURL(p: string): URL {
  return new URL(`file://${encodeURI(p)}`);
}
export default { fileURLToPath, pathToFileURL };
