// Argument helpers shared by the commands.

/** Bad command-line input: the command prints the message and its usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function intArg(name: string, value: string | undefined, def: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer${min > -Infinity ? ` >= ${min}` : ""}${max < Infinity ? ` and <= ${max}` : ""}, got "${value}"`);
  }
  return n;
}

export function numArg(name: string, value: string | undefined, def: number, min = -Infinity): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number${min > -Infinity ? ` >= ${min}` : ""}, got "${value}"`);
  return n;
}

export function choiceArg<T extends string>(name: string, value: string | undefined, choices: readonly T[], def?: T): T {
  if (value === undefined) {
    if (def === undefined) throw new UsageError(`--${name} is required (${choices.join(" or ")})`);
    return def;
  }
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be ${choices.join(" or ")}, got "${value}"`);
  return value as T;
}

export function requiredArg(name: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}
