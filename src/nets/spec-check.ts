// Checking an architecture as zoo.json (or a run's config.json) records it, before a family
// gives it its type: every field present and of the right kind, or an error saying which field
// and what it holds. The message has no file in it; the caller puts the file first.

export class ArchitectureError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = "ArchitectureError";
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Readers of one record's fields, each failing with the field's path in the message. */
export function fieldsOf(v: unknown, path: string) {
  if (!isRecord(v)) throw new ArchitectureError(`${path} is ${show(v)}, expected an object`);
  const fail = (k: string, what: string): never => { throw new ArchitectureError(`${path}.${k} is ${show(v[k])}, expected ${what}`); };
  return {
    record: v,
    int(k: string, min = 0): number {
      const x = v[k];
      return Number.isInteger(x) && (x as number) >= min ? (x as number) : fail(k, `an integer >= ${min}`);
    },
    num(k: string, positive = false): number {
      const x = v[k];
      return typeof x === "number" && Number.isFinite(x) && (!positive || x > 0) ? x : fail(k, positive ? "a positive number" : "a finite number");
    },
    ints(k: string, min = 0): number[] {
      const x = v[k];
      return Array.isArray(x) && x.every((d) => Number.isInteger(d) && d >= min) ? (x as number[]) : fail(k, `a list of integers >= ${min}`);
    },
    choice<T extends string>(k: string, options: readonly T[]): T {
      const x = v[k];
      return typeof x === "string" && (options as readonly string[]).includes(x) ? (x as T) : fail(k, `one of ${options.join(", ")}`);
    },
    list(k: string): unknown[] {
      const x = v[k];
      return Array.isArray(x) ? x : fail(k, "a list");
    },
    optional(k: string): boolean {
      return v[k] !== undefined;
    },
  };
}
