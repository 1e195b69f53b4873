// Zoo builds on a real job queue: Redis (Debian's redis-server, started here on a loopback
// port) and `probegen worker` processes. A worker killed mid-shard, a shard that always fails,
// and Redis stopped and restarted mid-build; the zoo is the same bytes as a one-machine build.
// Every wait is bounded in time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { parseQueueAddress } from "../src/queue/queue-address.js";
import { cli, freePort, skip, sleep, start, startRedis, stop, until, within, worker } from "./redis.js";

function sameZoo(a: string, b: string): void {
  const files = readdirSync(a).sort();
  assert.deepEqual(readdirSync(b).sort(), files, "the same files, and no temporary left behind");
  for (const f of files) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} as the one-machine build wrote it`);
}

test("queue addresses: redis://HOST:PORT/NAME", () => {
  assert.deepEqual(parseQueueAddress("redis://127.0.0.1:6390/zoo_1"), { host: "127.0.0.1", port: 6390, name: "zoo_1", url: "redis://127.0.0.1:6390/zoo_1" });
  for (const bad of ["redis://host/zoo", "http://h:1/z", "redis://h:70000/z", "redis://h:1/", "redis://h:1/a/b"]) {
    assert.throws(() => parseQueueAddress(bad), /--queue must be redis:\/\/HOST:PORT\/NAME/, bad);
  }
  const usage = spawnSync(process.execPath, [cli, "worker", "--queue", "redis://nowhere"], { encoding: "utf8" });
  assert.equal(usage.status, 2);
});

test("three workers, one killed mid-shard: the shard is built again elsewhere and the zoo equals a local build", { skip, timeout: 240_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-queue-"));
  const port = await freePort();
  const redis = await startRedis(port, root);
  const url = `redis://127.0.0.1:${port}/kill`;
  const workers = [worker(url), worker(url), worker(url)];
  try {
    const opts = ["--dataset", "mnist", "--count", "300", "--steps", "30", "--shard-size", "25", "--seed", "5"];
    const coordinator = start(["zoo", "build", "inr", ...opts, "--out", join(root, "q"), "--queue", url]);
    await until("worker 0 to start a shard", () => /started/.test(workers[0].err()), 60_000);
    workers[0].p.kill("SIGKILL");
    const code = await within("the build", coordinator.done, 180_000);
    assert.equal(code, 0, coordinator.err());
    assert.match(coordinator.err(), /12 shard job\(s\) on redis:\/\/127\.0\.0\.1/);
    buildInrZoo({ dataset: "mnist", count: 300, out: join(root, "local"), seed: 5, recipe: { steps: 30 }, shardSize: 25 });
    sameZoo(join(root, "local"), join(root, "q"));
    // The killed worker's shard was built by another (each shard's "started" appears once per try).
    const started = workers.map((w) => [...w.err().matchAll(/shard (\d+) of .*: started/g)].map((m) => Number(m[1])));
    const killedShard = started[0][0];
    assert.ok(started[1].includes(killedShard) || started[2].includes(killedShard), `shard ${killedShard} retried: ${JSON.stringify(started)}`);
    // Issue 24.2: the same build again after its folder was removed: its finished jobs (the same
    // ids) are not taken as done, since their shards are gone; every shard is built again.
    rmSync(join(root, "q"), { recursive: true });
    const again = start(["zoo", "build", "inr", ...opts, "--out", join(root, "q"), "--queue", url]);
    assert.equal(await within("the rebuild of a removed zoo", again.done, 180_000), 0, again.err());
    sameZoo(join(root, "local"), join(root, "q"));
  } finally {
    for (const w of workers) await stop(w.p);
    await stop(redis);
    rmSync(root, { recursive: true, force: true });
  }
});

test("a shard that fails on every try is reported with its error; nothing is written as the zoo", { skip, timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-queue-fail-"));
  const port = await freePort();
  const redis = await startRedis(port, root);
  const url = `redis://127.0.0.1:${port}/fail`;
  const out = join(root, "q");
  let w: ReturnType<typeof worker> | null = null;
  try {
    const coordinator = start(["zoo", "build", "inr", "--dataset", "mnist", "--count", "40", "--steps", "20", "--shard-size", "20", "--out", out, "--queue", url]);
    await until("the build to be planned", () => /shard job\(s\) on/.test(coordinator.err()), 60_000);
    // Shard 1 cannot be written: a folder of that name is in the way.
    mkdirSync(join(out, "shard-00001.safetensors"));
    writeFileSync(join(out, "shard-00001.safetensors", "x"), "in the way");
    w = worker(url);
    const code = await within("the failing build", coordinator.done, 90_000);
    assert.equal(code, 1);
    assert.match(coordinator.err(), /shard 1 \(shard-00001\.safetensors\) failed on all 3 tries; the last error: .*shard-00001\.safetensors: cannot be written/);
    assert.ok(!existsSync(join(out, "zoo.json")));
    assert.ok(existsSync(join(out, "shard-00000.safetensors")), "the other shard was built");
    assert.equal(w.err().match(/shard 1 failed \(try/g)?.length, 3);
  } finally {
    if (w !== null) await stop(w.p);
    await stop(redis);
    rmSync(root, { recursive: true, force: true });
  }
});

test("Redis stopped mid-build and restarted: the coordinator and the worker wait, then the build resumes", { skip, timeout: 240_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-queue-redis-"));
  const port = await freePort();
  let redis = await startRedis(port, root);
  const url = `redis://127.0.0.1:${port}/restart`;
  const w = worker(url);
  try {
    const opts = ["--dataset", "mnist", "--count", "200", "--steps", "30", "--shard-size", "20", "--seed", "6"];
    const coordinator = start(["zoo", "build", "inr", ...opts, "--out", join(root, "q"), "--queue", url]);
    await until("a first shard", () => /networks in/.test(w.err()), 90_000);
    await stop(redis);
    await until("the coordinator to see Redis gone", () => /coordinator: Redis at .* is unreachable/.test(coordinator.err()), 20_000);
    await sleep(1000);
    redis = await startRedis(port, root);
    const code = await within("the resumed build", coordinator.done, 180_000);
    assert.equal(code, 0, coordinator.err());
    assert.match(coordinator.err(), /coordinator: Redis at .* is back/);
    assert.match(w.err(), /is unreachable/);
    buildInrZoo({ dataset: "mnist", count: 200, out: join(root, "local"), seed: 6, recipe: { steps: 30 }, shardSize: 20 });
    sameZoo(join(root, "local"), join(root, "q"));
  } finally {
    await stop(w.p);
    await stop(redis);
    rmSync(root, { recursive: true, force: true });
  }
});

test("predict on the queue: jobs of consecutive inputs on two workers, collected in order, as a local predict", { skip, timeout: 240_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-queue-predict-"));
  const port = await freePort();
  const redis = await startRedis(port, root);
  const url = `redis://127.0.0.1:${port}/predict`;
  const workers = [worker(url), worker(url)];
  try {
    const zoo = join(root, "zoo");
    buildInrZoo({ dataset: "mnist", count: 150, out: zoo, seed: 7, recipe: { steps: 20 }, shardSize: 150 });
    const cliSync = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });
    assert.equal(cliSync("train", "--zoo", zoo, "--out", join(root, "run"), "--epochs", "1", "--probes", "8").status, 0);
    assert.equal(cliSync("zoo", "export", zoo, "--format", "safetensors", "--out", join(root, "files")).status, 0);
    const files = readdirSync(join(root, "files", "networks")).sort().map((f) => join(root, "files", "networks", f));
    assert.equal(files.length, 150);
    writeFileSync(join(root, "list.txt"), `${files.join("\n")}\n`);
    const local = cliSync("predict", join(root, "run"), "--list", join(root, "list.txt"), "--csv");
    assert.equal(local.status, 0, local.stderr);
    const queued = start(["predict", join(root, "run"), "--list", join(root, "list.txt"), "--csv", "--queue", url]);
    let out = "";
    queued.p.stdout!.removeAllListeners("data");
    queued.p.stdout!.on("data", (d) => { out += String(d); });
    assert.equal(await within("the queued predict", queued.done, 180_000), 0, queued.err());
    assert.match(queued.err(), /3 predict job\(s\) on redis:/);
    assert.equal(out, local.stdout, "the same CSV, rows in the list's order");
    // Issue 24.2: a file changed at the same path is predicted again, not answered from the
    // finished job: with no worker running, the coordinator waits for one.
    for (const w of workers) await stop(w.p);
    writeFileSync(files[0], readFileSync(files[1]));
    const changedLocal = cliSync("predict", join(root, "run"), "--list", join(root, "list.txt"), "--csv");
    assert.notEqual(changedLocal.stdout, local.stdout);
    const again = start(["predict", join(root, "run"), "--list", join(root, "list.txt"), "--csv", "--queue", url]);
    let out2 = "";
    again.p.stdout!.removeAllListeners("data");
    again.p.stdout!.on("data", (d) => { out2 += String(d); });
    await sleep(4000);
    assert.equal(again.p.exitCode, null, `a stale answer came back at once: ${out2}`);
    workers.push(worker(url));
    assert.equal(await within("the predict of the changed file", again.done, 120_000), 0, again.err());
    assert.equal(out2, changedLocal.stdout, "the new file's prediction");
    // Issue 24.8: a worker whose Redis is gone still stops on SIGTERM, within --stop-seconds.
    const late = start(["worker", "--queue", url, "--threads", "1", "--stop-seconds", "2"]);
    await sleep(1500);
    await stop(redis);
    late.p.kill("SIGTERM");
    const t0 = Date.now();
    const code = await within("the worker's exit after SIGTERM", late.done, 15_000);
    assert.ok(Date.now() - t0 < 10_000, `the worker took ${Date.now() - t0} ms to stop`);
    assert.ok(code === 0 || code === 143, `exit ${code}: ${late.err()}`);
  } finally {
    for (const w of workers) await stop(w.p);
    await stop(redis);
    rmSync(root, { recursive: true, force: true });
  }
});

test("a coordinator whose Redis cannot be reached says so, not that jobs are queued, and SIGTERM stops it leaving no lock", { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-queue-down-"));
  const port = await freePort();
  try {
    const out = join(root, "zoo");
    const c = start(["zoo", "build", "inr", "--dataset", "mnist", "--count", "20", "--steps", "5", "--shard-size", "10", "--out", out, "--queue", `redis://127.0.0.1:${port}/down`]);
    await until("the coordinator to find Redis unreachable", () => /Redis at 127\.0\.0\.1:\d+ is unreachable/.test(c.err()), 20_000);
    await sleep(500);
    assert.doesNotMatch(c.err(), /shard job\(s\) on redis:/);
    assert.ok(existsSync(join(out, ".probegen.lock")), "the coordinator holds the build's lock");
    c.p.kill("SIGTERM");
    assert.equal(await within("the coordinator's exit", c.done, 10_000), 143, c.err());
    assert.equal(existsSync(join(out, ".probegen.lock")), false, "SIGTERM left the lock");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
