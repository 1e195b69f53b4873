// Where a job queue lives: redis://HOST:PORT/NAME names a Redis server and a queue on it. The
// queue engine is BullMQ (a well-kept Redis-backed queue: retries, stalled-job detection, job
// progress), so probegen adds only what a zoo build needs on top: which shard a job is.
import type { ConnectionOptions } from "bullmq";

export interface QueueAddress {
  host: string;
  port: number;
  /** The queue's name (BullMQ keys are prefixed with it). */
  name: string;
  url: string;
}

export function parseQueueAddress(url: string): QueueAddress {
  const m = /^redis:\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\/([A-Za-z0-9_-]{1,100})$/.exec(url.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 1 && port <= 65535)) {
    throw new RangeError(`--queue must be redis://HOST:PORT/NAME (NAME: letters, digits, _ and -), got "${url}"`);
  }
  return { host: m[1].replace(/^\[|\]$/g, ""), port, name: m[3], url: url.trim() };
}

/**
 * ioredis settings for BullMQ: commands wait through a lost connection instead of failing
 * (maxRetriesPerRequest null, as BullMQ requires for workers), and reconnects back off to 2 s.
 */
export function connectionOf(a: QueueAddress): ConnectionOptions {
  return { host: a.host, port: a.port, maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: (times: number) => Math.min(200 * times, 2000) };
}

/** Says once that Redis is unreachable, and once that it is back. */
export function redisWatch(a: QueueAddress, who: string, log: (line: string) => void): { error: (e: Error) => void; ready: () => void } {
  let down = false;
  return {
    error: (e) => {
      if (down) return;
      down = true;
      log(`${who}: Redis at ${a.host}:${a.port} is unreachable (${e.message}); waiting for it`);
    },
    ready: () => {
      if (!down) return;
      down = false;
      log(`${who}: Redis at ${a.host}:${a.port} is back`);
    },
  };
}
