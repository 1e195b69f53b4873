// Each import kind's shard reader, by name, for worker threads to find.
import type { ImportKindName, ImportPlan, ShardImporter } from "./import-build.js";
import { importDwsnetsShard } from "./dwsnets.js";
import { importSmallCnnZooShard } from "./small-cnn-zoo.js";
import { importWildParkShard } from "./wild-park.js";
import { importTorchvisionShard } from "./torchvision.js";
import { importOnnxShard } from "./onnx.js";

export const SHARD_IMPORTERS: Record<ImportKindName, ShardImporter<ImportPlan>> = {
  dwsnets: importDwsnetsShard as ShardImporter<ImportPlan>,
  "small-cnn-zoo": importSmallCnnZooShard as ShardImporter<ImportPlan>,
  "wild-park": importWildParkShard as ShardImporter<ImportPlan>,
  torchvision: importTorchvisionShard as ShardImporter<ImportPlan>,
  onnx: importOnnxShard as ShardImporter<ImportPlan>,
};
