// A CSV file (gzipped or not) read by column names into typed columns, streamed row by row so
// that a large metrics file never sits in memory as text or as row objects. Each column becomes
// numbers (every non-empty value parses; empty ones are NaN), codes (few distinct strings, their
// names sorted), or per-row strings (many distinct strings, e.g. a model folder per row).
import { closeSync, createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { parse } from "csv-parse";
import { stringify } from "csv-stringify/sync";
import { FileFormatError } from "../file-error.js";
import { openRegularFile } from "./read-file.js";

export class CsvError extends FileFormatError {}

export type CsvColumn =
  | { kind: "numbers"; values: Float64Array }
  | { kind: "codes"; names: string[]; codes: Int32Array }
  | { kind: "strings"; values: string[] };

/** Bytes a CSV row may take (64 KiB: the Small CNN Zoo's metrics rows are under 2 KiB), and the header. */
export const MAX_ROW_BYTES = 65_536;
const HEADER_BYTES = 1 << 20;

/** Distinct strings up to which a text column is kept as codes. */
export const MAX_CODES = 256;

class ColumnBuilder {
  numbers: Float64Array = new Float64Array(1024);
  codes: Int32Array | null = new Int32Array(1024);
  dict: Map<string, number> | null = new Map();
  strings: string[] | null = null;
  textSeen = false;

  add(row: number, v: string): void {
    if (row >= this.numbers.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T): T => { const b = new (a.constructor as new (n: number) => T)(a.length * 2); b.set(a); return b; };
      this.numbers = grow(this.numbers);
      if (this.codes !== null) this.codes = grow(this.codes);
    }
    const t = v.trim();
    // pandas writes infinities as inf and missing values as empty text (or nan).
    const n = t === "" || /^nan$/i.test(t) ? NaN : /^[-+]?inf(inity)?$/i.test(t) ? (t.startsWith("-") ? -Infinity : Infinity) : Number(t);
    this.numbers[row] = n;
    if (t !== "" && Number.isNaN(n) && !/^nan$/i.test(t)) this.textSeen = true;
    if (this.dict !== null) {
      let c = this.dict.get(v);
      if (c === undefined) { c = this.dict.size; this.dict.set(v, c); }
      this.codes![row] = c;
      if (this.dict.size > MAX_CODES) {
        // Too many distinct values for codes: keep the text itself (needed only if it is not numeric).
        const names = [...this.dict.keys()];
        this.strings = Array.from(this.codes!.subarray(0, row + 1), (k) => names[k]);
        this.dict = null;
        this.codes = null;
      }
    } else {
      this.strings!.push(v);
    }
  }

  build(rows: number): CsvColumn {
    if (!this.textSeen) return { kind: "numbers", values: this.numbers.slice(0, rows) };
    if (this.dict !== null) {
      const names = [...this.dict.keys()].sort();
      const remap = new Int32Array(this.dict.size);
      for (const [name, c] of this.dict) remap[c] = names.indexOf(name);
      return { kind: "codes", names, codes: Int32Array.from(this.codes!.subarray(0, rows), (c) => remap[c]) };
    }
    return { kind: "strings", values: this.strings!.slice(0, rows) };
  }
}

export interface CsvColumns {
  rows: number;
  /** Columns by name, in the file's order. */
  columns: Map<string, CsvColumn>;
}

/**
 * Reads a CSV file with a header row (gzipped when its name ends in .gz). Stops with an error
 * past `maxRows` rows, so a small compressed file cannot expand without bound.
 */
export async function readCsvColumns(file: string, maxRows = Infinity, maxBytesPerRow = MAX_ROW_BYTES): Promise<CsvColumns> {
  // Refuses what is not a regular file before a stream is opened on it.
  closeSync(openRegularFile(file).fd);
  const source = createReadStream(file);
  // A record longer than any real one is refused at once (csv-parse would otherwise grow it without bound).
  const parser = parse({ columns: false, relax_column_count: false, skip_empty_lines: true, max_record_size: maxBytesPerRow });
  const input = file.endsWith(".gz") ? source.pipe(createGunzip()) : source;
  input.on("error", (e: Error) => parser.destroy(e));
  // A gzip bomb (a few MB inflating to GB) stops as soon as it passes what maxRows rows could hold.
  const maxBytes = Number.isFinite(maxRows) ? HEADER_BYTES + maxRows * maxBytesPerRow : Infinity;
  let inflated = 0;
  input.on("data", (chunk: Buffer) => {
    inflated += chunk.length;
    if (inflated > maxBytes) {
      const e = new CsvError(file, `holds more than ${maxBytes} bytes of text, more than ${maxRows} rows of at most ${maxBytesPerRow} bytes could; refusing to read on (a corrupt or hostile ${file.endsWith(".gz") ? "gzip " : ""}file)`);
      source.destroy();
      parser.destroy(e);
    }
  });
  input.pipe(parser);
  let header: string[] | null = null;
  let builders: ColumnBuilder[] = [];
  let rows = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === null) {
        header = record;
        if (new Set(header).size !== header.length) throw new CsvError(file, `repeats a column name in its header (${header.join(", ")})`);
        builders = header.map(() => new ColumnBuilder());
        continue;
      }
      if (rows >= maxRows) throw new CsvError(file, `has more than the ${maxRows} rows expected`);
      record.forEach((v, c) => builders[c].add(rows, v));
      rows++;
    }
  } catch (e) {
    source.destroy();
    if (e instanceof CsvError) throw e;
    if ((e as { code?: string }).code === "CSV_MAX_RECORD_SIZE") throw new CsvError(file, `has a record longer than ${maxBytesPerRow} bytes; refusing to read on (a corrupt or hostile file)`);
    throw new CsvError(file, `not a readable CSV${file.endsWith(".gz") ? " (gzip)" : ""} file: ${(e as Error).message}`);
  }
  if (header === null) throw new CsvError(file, "is empty (no header row)");
  return { rows, columns: new Map(header.map((name, c) => [name, builders[c].build(rows)])) };
}

/** CSV text of a header and rows, quoted where needed. */
export function csvText(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return stringify([header as string[], ...(rows as (string | number)[][])]);
}
