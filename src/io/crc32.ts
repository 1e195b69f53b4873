// CRC-32 (the zip and gzip checksum): Node's own where it has one (20.15 and later), else a table.
import * as zlib from "node:zlib";

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

let table: Uint32Array | null = null;

function crc32Table(data: Uint8Array): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function crc32(data: Uint8Array): number {
  return native !== undefined ? native(data) >>> 0 : crc32Table(data);
}

/** The table implementation, for tests to check against Node's. */
export const crc32Reference = crc32Table;
