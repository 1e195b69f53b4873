// The folder an export writes: probegen-export.json marks it as ours (what was exported, from
// where, and whether it finished), so that a folder holding anything else is never written
// into, and a rerun of the same export may write over its own earlier files. The files that say
// the export is whole (a splits file) are written last.
import { existsSync, readdirSync, statSync } from "node:fs";
import { makeDirectory } from "../../io/dirs.js";
import { join } from "node:path";
import { writeFileAtomic } from "../../io/atomic.js";
import { readRegularFile } from "../../io/read-file.js";
import { PROBEGEN_VERSION } from "../../version.js";
import { ImportError } from "./state-dict.js";
import { SPLIT_NAMES, rangesIndices, type ShardData, type SplitName, type ZooManifest } from "../format.js";

export const EXPORT_MARKER = "probegen-export.json";

export interface ExportReport {
  out: string;
  networks: number;
  seconds: number;
}

/** A JSON file read whole (bounded by its size and 1 GiB); errors name the file. */
export function readJsonFile(file: string): unknown {
  const bytes = readRegularFile(file, 2 ** 30);
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (e) {
    throw new ImportError(file, `not valid JSON (${(e as Error).message})`);
  }
}

export class ExportFolder {
  private readonly t0 = performance.now();

  private constructor(readonly out: string, private readonly settings: Record<string, unknown>) {}

  /** Claims `out` for an export with these settings; refuses a folder that holds anything else. */
  static start(out: string, settings: Record<string, unknown>): ExportFolder {
    const marker = join(out, EXPORT_MARKER);
    if (existsSync(out)) {
      if (!statSync(out).isDirectory()) throw new ImportError(out, "exists and is not a folder");
      if (existsSync(marker)) {
        const prior = readJsonFile(marker) as { settings?: unknown };
        if (JSON.stringify(prior.settings) !== JSON.stringify(settings)) {
          throw new ImportError(marker, `holds an export of other settings (${JSON.stringify(prior.settings)}); choose another --out`);
        }
      } else if (readdirSync(out).length > 0) {
        throw new ImportError(out, `is not empty and holds no ${EXPORT_MARKER}: it is not a probegen export, so nothing is written into it; choose another --out`);
      }
    }
    makeDirectory(out);
    writeFileAtomic(marker, `${JSON.stringify({ exporter: "probegen zoo export", probegenVersion: PROBEGEN_VERSION, settings, complete: false }, null, 2)}\n`);
    return new ExportFolder(out, settings);
  }

  /** Writes the files that complete the export, then marks it complete. */
  finish(files: [string, string | Uint8Array][], networks: number): ExportReport {
    for (const [file, data] of files) writeFileAtomic(file, data);
    writeFileAtomic(join(this.out, EXPORT_MARKER), `${JSON.stringify({ exporter: "probegen zoo export", probegenVersion: PROBEGEN_VERSION, settings: this.settings, complete: true, networks }, null, 2)}\n`);
    return { out: this.out, networks, seconds: (performance.now() - this.t0) / 1000 };
  }
}

/** Where each network of a zoo read whole sits: its split (undefined in none), and its row among its architecture's networks. */
export function networkPlaces(m: ZooManifest, all: ShardData): { splitOf: (SplitName | undefined)[]; rowOf: Int32Array } {
  const splitOf = new Array<SplitName | undefined>(m.count);
  for (const s of SPLIT_NAMES) for (const i of rangesIndices(m.splits[s])) splitOf[i] = s;
  const rowOf = new Int32Array(m.count);
  const seen = new Int32Array(m.architectures.length);
  for (let i = 0; i < m.count; i++) rowOf[i] = seen[all.architecture[i]]++;
  return { splitOf, rowOf };
}

/** Network i's parameters, by name, as views of the zoo read whole. */
export function networkParams(m: ZooManifest, all: ShardData, rowOf: Int32Array, i: number): Map<string, Float32Array> {
  const k = all.architecture[i];
  return new Map(m.architectures[k].parameters.map((p) => {
    const per = p.shape.reduce((x, y) => x * y, 1);
    return [p.name, all.groups[k].get(p.name)!.subarray(rowOf[i] * per, (rowOf[i] + 1) * per)] as const;
  }));
}
