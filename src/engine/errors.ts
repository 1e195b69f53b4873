/** A tensor shape that an operation cannot accept. The message names the op and the shapes. */
export class ShapeError extends Error {
  constructor(op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = "ShapeError";
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}
