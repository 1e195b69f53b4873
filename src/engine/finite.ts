// Finiteness checks: non-finite numbers never pass silently, so the places that take weights or
// losses in (imports, zoo building, training, checkpoints) ask these.

/** Index of the first NaN or infinite value, or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

export function allFinite(values: ArrayLike<number>): boolean {
  return firstNonFinite(values) < 0;
}
