// webgrad's data API that runs anywhere (browser included). The file readers
// (IDX, CSV files, built-in MNIST) need Node and are in ./node.ts.
export type { Dataset } from './dataset.js';
export { describeSamples, featureSize, gatherRows, sameSampleShape, sampleCount, shuffleDataset, take, validateDataset } from './dataset.js';
export type { BatchOptions } from './batch.js';
export { batchCount, batches } from './batch.js';
export type { IndexSplit, SplitOptions } from './split.js';
export { trainTestSplit, trainTestSplitIndices, validationSplit, validationSplitAt } from './split.js';
export type { Fold } from './kfold.js';
export { kFold } from './kfold.js';
export type { Features, MinMaxParams, Scaler, StandardParams } from './transform.js';
export { minMaxScaler, minMaxScalerFrom, oneHot, standardScaler, standardScalerFrom } from './transform.js';
export type { CsvOptions } from './csv-dataset.js';
export { MAX_INFERRED_CLASSES, parseCsv } from './csv-dataset.js';
export type { IdxArray, IdxType } from './idx-format.js';
export { idxToDataset, isGzip, parseIdx } from './idx-format.js';
export type { OptionsOfToy, ToyDataset, ToyLabels, ToyName, ToyPoint } from './toy.js';
export { isToyName, isToyRegression, multigaussLabel, TOY_CLASSIFICATION, TOY_DATASETS, TOY_REGRESSION, toyDataset, toyDatasetFrom, toyDefaultPoints, toyPoints } from './toy.js';
export type { TextData, TextDataOptions } from './text.js';
export { encodeText, textDataset, vocabularyOf } from './text.js';
