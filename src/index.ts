// probegen's public API.
export * from "./engine/index.js";
export { loadImageSet, imagePixels, IMAGE_SET_NAMES, LABEL_NAMES, type ImageSet, type ImageSetName } from "./data/image-sets.js";
export { cnnInputs, CNN_INPUT_SIZE } from "./data/cnn-input.js";
export { parseIdx, readIdx } from "./data/idx.js";
export {
  DWSNETS_SIREN, SIREN_INITS, sirenForward, sirenParameterShapes, sirenFlopsPerPoint, initSiren, gridCoordinates, renderSiren,
  type SirenArchitecture, type SirenInit,
} from "./nets/siren.js";
export { smallCnnZooArchitecture } from "./nets/small-cnn.js";
export { cnnForward, cnnParameterShapes, cnnFlopsPerImage, residualSources, type CnnArchitecture, type CnnLayerSpec } from "./nets/cnn.js";
export { networkArchitecture, represent, type NetworkArchitecture, type SizedCnnArchitecture } from "./nets/family.js";
export { zooArchitectures } from "./zoo/architectures.js";
export { ArchitectureError } from "./nets/spec-check.js";
export { cnnForwardMixed, evaluateInGroups, type CnnNetwork } from "./nets/groups.js";
export { CoordinateGenerator, type CoordinateGeneratorOptions } from "./probes/coordinate-generator.js";
export { ImageGenerator, type ImageGeneratorOptions } from "./probes/image-generator.js";
export { LearnedProbes } from "./probes/learned-probes.js";
export { FixedProbes } from "./probes/fixed-probes.js";
export { makeProbeSource, type ProbeOptions } from "./probes/make.js";
export { PROBE_METHODS, METHODS, type ProbeMethod, type RepresentationMethod, type ProbeSource } from "./probes/source.js";
export { MlpHead, type HeadOptions } from "./train/head.js";
export { DEFAULT_TRAIN_CONFIG, TRAIN_RECIPES, PROBE_INITS, METHOD_CHOICES, READOUT_CHOICES, type TrainConfig, type TrainRecipe, type ProbeInit, type MethodChoice, type ReadoutChoice } from "./train/config.js";
export { READOUTS, labelledAnswers, type Readout } from "./train/readouts.js";
export { resolveMethod, resolveReadout } from "./train/default-predictor.js";
export { withHiddenReadout, hiddenFeaturesPerProbe } from "./nets/hidden-readout.js";
export { ProbingModel } from "./train/probing-model.js";
export { ZooData } from "./train/zoo-data.js";
export { train, readRunFile, type RunResult, type MetricsRecord, type TrainOptions } from "./train/trainer.js";
export { evaluateSplit, type SplitEvaluation } from "./train/evaluate.js";
export { classificationReport, type ClassificationReport } from "./train/metrics.js";
export { loadCheckpoint, saveCheckpoint } from "./train/checkpoint.js";
export { Zoo, ZooFormatError, manifestJson, type ZooManifest, type ZooArchitecture, type SplitName } from "./zoo/format.js";
export { buildInrZoo, buildInrZooParallel, type InrZooOptions, type InrBuildReport } from "./zoo/build/inr-builder.js";
export { buildCnnZoo, smallCnnZooVariants, type CnnZooOptions, type CnnBuildReport, type CnnProgress } from "./zoo/build/cnn-builder.js";
export {
  DEFAULT_CNN_RECIPE, CNN_ACTIVATIONS, CNN_INITS, CNN_OPTIMIZERS, drawHyperparameters,
  type CnnRecipe, type CnnHyperparameters,
} from "./zoo/build/cnn-recipe.js";
export { CnnTrainer, scoreCnns, type CnnJob, type CnnResult, type CnnScore } from "./zoo/build/cnn-train.js";
export { nfnSplitIndices, nfnSplits } from "./zoo/nfn-split.js";
export { PythonRandom } from "./zoo/python-random.js";
export { InrFitter, DEFAULT_INR_RECIPE, type InrRecipe } from "./zoo/build/inr-fit.js";
export { summarizeZoo, type ZooSummary } from "./zoo/summary.js";
export { encodeSafetensors, decodeSafetensors, readSafetensors } from "./io/safetensors.js";
export { readTorchCheckpoint, decodeTorchCheckpoint, TorchTensor, TorchCheckpointError, type TorchCheckpoint, type TorchDtype } from "./io/torch-checkpoint.js";
export { writeTorchCheckpoint, encodeTorchCheckpoint, stateDictValue, TensorToSave, OrderedDictValue } from "./io/torch-save.js";
export { unpickle, PickleError, PyGlobal, PyObject, type UnpickleOptions } from "./io/pickle.js";
export { NpyRowReader, NpyWriter, parseNpyHeader } from "./io/npy.js";
export { importDwsnets, exportDwsnets, type DwsnetsImportOptions, type DwsnetsExportOptions } from "./zoo/interop/dwsnets.js";
export { importSmallCnnZoo, exportSmallCnnZoo, type SmallCnnZooImportOptions, type SmallCnnZooExportOptions } from "./zoo/interop/small-cnn-zoo.js";
export { importWildPark, exportWildPark, type WildParkImportOptions, type WildParkExportOptions } from "./zoo/interop/wild-park.js";
export { encodePng } from "./report/png.js";
export { PROBEGEN_VERSION } from "./version.js";
export { FileFormatError } from "./file-error.js";
export { kendallTau } from "./train/kendall.js";
export { deadLeaves, type DeadLeavesOptions } from "./data/dead-leaves.js";
export { TrainedRun, type CheckpointName } from "./predict/run-model.js";
export { InputCollector, PredictInputError, type InputOptions, type PredictionInputs } from "./predict/inputs.js";
export { predictNetworks, predictResponses, networkAnswers, PREDICT_CHUNK, type Prediction, type PredictionReport } from "./predict/predict.js";
export { exportProbes, runProbes, type ProbesDescription } from "./predict/probes-export.js";
export { openPredictor, shippedPredictorNames, exampleFiles, PREDICTORS_DIR } from "./predict/shipped-predictors.js";
export { decodePredictor, encodePredictor, readPredictorFile, PredictorFileError, type PredictorFile } from "./predict/predictor-file.js";
export { cardText, type PredictorCard } from "./predict/predictor-card.js";
export { mergeZoos } from "./zoo/merge.js";
export { runReport, writeRunReport, type RunReport, type RunReportOptions } from "./report/run-report.js";
export { compareRuns, compareMarkdown, compareText, runFolders, meanStd, methodLabel, type CompareGroup } from "./report/compare.js";
