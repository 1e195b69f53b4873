// The web page's stand-ins for node:fs and node:path: the command line's readers work over them
// (bounded reads, the same refusals), and paths resolve as POSIX's do.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as posix from "node:path/posix";
import { putFile, existsSync, statSync, openSync, readSync, fstatSync, closeSync, readdirSync, writeFileSync } from "../src/ui/shims/fs.js";
import * as pagePath from "../src/ui/shims/path.js";

test("the page's node:fs: files held in memory, read in bounded parts, folders listed, nothing written", () => {
  putFile("/probegen/predictors/a.safetensors", new Uint8Array([1, 2, 3, 4, 5]));
  putFile("/probegen/predictors/examples/a/x.pth", new Uint8Array([9]));
  assert.equal(existsSync("/probegen/predictors"), true);
  assert.equal(statSync("/probegen/predictors").isDirectory(), true);
  assert.equal(statSync("/probegen/predictors/a.safetensors").size, 5);
  assert.deepEqual(readdirSync("/probegen/predictors/"), ["a.safetensors", "examples"]);
  const fd = openSync("/probegen/predictors/a.safetensors");
  assert.equal(fstatSync(fd).size, 5);
  const buf = new Uint8Array(8);
  assert.equal(readSync(fd, buf, 1, 3, 3), 2);
  assert.deepEqual([...buf.subarray(0, 4)], [0, 4, 5, 0]);
  closeSync(fd);
  assert.throws(() => statSync("/nowhere.pth"), (e: Error & { code?: string }) => e.code === "ENOENT");
  assert.throws(() => openSync("/probegen/predictors"), (e: Error & { code?: string }) => e.code === "EISDIR");
  assert.throws(() => readSync(fd, buf, 0, 1, 0), (e: Error & { code?: string }) => e.code === "EBADF");
  assert.throws(() => writeFileSync(), /the page writes no files/);
});

test("the page's node:path agrees with POSIX on the paths probegen makes", () => {
  const cases: string[][] = [["/probegen/dist/src/predict", "../../../predictors/"], ["/a/b", "c", "..", "d.pth"], ["/uploads", "x.pth"], ["a", "./b/"], ["/", ".."]];
  for (const c of cases) {
    assert.equal(pagePath.join(...c), posix.join(...c), `join ${c.join(" ")}`);
    // The page's working folder is its root: compare where POSIX's does not depend on the process's.
    if (c[0].startsWith("/")) assert.equal(pagePath.resolve(...c), posix.resolve(...c), `resolve ${c.join(" ")}`);
  }
  for (const p of ["/a/b/c.safetensors", "/a/b/", "c", "/", "/a/.hidden", "x.tar.gz"]) {
    assert.equal(pagePath.dirname(p), posix.dirname(p), `dirname ${p}`);
    assert.equal(pagePath.basename(p), posix.basename(p), `basename ${p}`);
    assert.equal(pagePath.extname(p), posix.extname(p), `extname ${p}`);
  }
  assert.equal(pagePath.relative("/a/b/c", "/a/d"), posix.relative("/a/b/c", "/a/d"));
});
