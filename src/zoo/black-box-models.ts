// Where a zoo keeps its black-box networks (ONNX graphs the engine cannot run; nets/onnx-black-box.ts):
// each whole, as models/<network index>.onnx inside the zoo's folder, its path recorded in the
// shards' "model" strings. Recorded paths are checked before use: shards are untrusted, and a
// path never leads out of the zoo's folder.
import { dirname, join } from "node:path";
import { ZooFormatError } from "./format.js";

export const BLACK_BOX_FOLDER = "models";
const BLACK_BOX_PATH = /^models\/\d{1,12}\.onnx$/;

/** The path network `index` keeps its black-box model at, relative to the zoo's folder. */
export function blackBoxModelPath(index: number): string {
  return `${BLACK_BOX_FOLDER}/${index}.onnx`;
}

/** The model files of the networks at `indices`, from the paths the zoo records; manifestFile is the zoo's zoo.json. */
export function blackBoxModelFiles(manifestFile: string, paths: readonly string[] | undefined, indices: readonly number[]): string[] {
  return indices.map((i) => {
    const path = paths?.[i];
    if (path === undefined || !BLACK_BOX_PATH.test(path)) {
      throw new ZooFormatError(manifestFile, `network ${i} is black-box, and its model file is ${path === undefined ? "not recorded (the shards hold no \"model\" strings)" : `recorded as '${path}', not models/<number>.onnx inside the zoo`}`);
    }
    return join(dirname(manifestFile), path);
  });
}
