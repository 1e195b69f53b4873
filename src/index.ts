// probegen's public API.
export * from "./engine/index.js";
export { DWSNETS_SIREN, sirenForward, sirenParameterShapes, sirenFlopsPerPoint, type SirenArchitecture } from "./nets/siren.js";
export { SMALL_CNN_ZOO, smallCnnForward, smallCnnParameterShapes, type SmallCnnArchitecture } from "./nets/small-cnn.js";
export { CoordinateGenerator, type CoordinateGeneratorOptions } from "./probes/coordinate-generator.js";
export { ImageGenerator, type ImageGeneratorOptions } from "./probes/image-generator.js";
export { MlpHead, type HeadOptions } from "./train/head.js";
