// The predictors that ship in the package (predictors/NAME.safetensors) and their example
// networks (predictors/examples/NAME/), found beside the code wherever it is installed.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileFormatError } from "../file-error.js";
import { readPredictorFile, type PredictorFile } from "./predictor-file.js";

/** dist/src/predict/ -> the package root's predictors/. */
export const PREDICTORS_DIR = fileURLToPath(new URL("../../../predictors/", import.meta.url));

/** The shipped predictors' names, in file-name order. */
export function shippedPredictorNames(dir = PREDICTORS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".safetensors")).map((f) => f.slice(0, -".safetensors".length)).sort();
}

/** A shipped predictor by name, or a predictor file by path. */
export function openPredictor(nameOrFile: string, dir = PREDICTORS_DIR): PredictorFile {
  if (/^[a-z0-9-]+$/.test(nameOrFile)) {
    const file = join(dir, `${nameOrFile}.safetensors`);
    if (!existsSync(file)) {
      const names = shippedPredictorNames(dir);
      throw new FileFormatError(nameOrFile, `is not a shipped predictor (${names.length > 0 ? `they are ${names.join(", ")}` : `none is installed in ${dir}`}; \`probegen predictors\` lists them)`);
    }
    return readPredictorFile(file);
  }
  return readPredictorFile(nameOrFile);
}

/** The example networks shipped with predictor `name`. */
export function exampleFiles(name: string, dir = PREDICTORS_DIR): string[] {
  const folder = join(dir, "examples", name);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return [];
  return readdirSync(folder).sort().map((f) => join(folder, f));
}
