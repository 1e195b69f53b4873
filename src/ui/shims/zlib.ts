// node:zlib in the web page: raw inflate (compressed entries of a checkpoint's zip) through fflate.
import { inflateSync } from "fflate";
export function inflateRawSync(data: Uint8Array): Uint8Array { return inflateSync(data); }
export function gunzipSync(): never { throw new Error("gzip is not available in the web page"); }
export default { inflateRawSync, gunzipSync };
export function gzipSync(): never { throw new Error("gzip is not available in the web page"); }
export function createGunzip(): never { throw new Error("gzip is not available in the web page"); }
export const crc32 = undefined;
