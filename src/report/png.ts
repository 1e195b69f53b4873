// A minimal PNG encoder (8-bit grayscale or RGB, no interlace) for rendering INRs and probes.
import { deflateSync } from "node:zlib";
import { crc32 } from "../io/crc32.js";
import type { OutputKind } from "../io/output-file.js";

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The tEXt chunk every probegen PNG carries: how `zoo render --out` knows an earlier render of its own. */
const SOFTWARE_TEXT = Uint8Array.from(Buffer.from("Software\0probegen", "latin1"));

/** A PNG written by probegen (encodePng), recognised by its signature and Software text. */
export const PNG_FILE: OutputKind = {
  what: "a PNG written by probegen",
  recognise: (head) => head.length > 8 && head[0] === 0x89 && head[1] === 0x50 && Buffer.from(head.buffer, head.byteOffset, head.byteLength).includes(Buffer.from(SOFTWARE_TEXT)),
};

/** PNG bytes of a width x height image; pixels row-major, `channels` (1 or 3) bytes each. */
export function encodePng(width: number, height: number, channels: 1 | 3, pixels: Uint8Array): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`encodePng: ${pixels.length} bytes for a ${width}x${height}x${channels} image`);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // grayscale or truecolour
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1); // filter 0
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("tEXt", SOFTWARE_TEXT),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Values in [lo, hi] to bytes 0..255, clamped and rounded. */
export function toBytes(values: ArrayLike<number>, lo = 0, hi = 1): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const t = (values[i] - lo) / (hi - lo);
    out[i] = Math.round(255 * Math.min(1, Math.max(0, t)));
  }
  return out;
}
