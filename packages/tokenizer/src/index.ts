// Public surface of @atomizer/tokenizer. Only what is listed here may be
// imported by other packages. Add exports in the block of your module.

// core types
export type {
  AcquisitionTime,
  AtomBatch,
  AtomBand,
  AtomSet,
  BandPhysics,
  BandRaster,
  BandStats,
  BandSpec,
  DType,
  RasterArray,
  Sample,
  Sensor,
} from './types.js';

// bundled data
export { sharedDataDir, dataPath } from './data-dir.js';

// encoding config
export { DEFAULT_SPECTRAL_RBFS, EncodingConfigSchema, defaultEncodingConfig, tokenLayout } from './encoding-config.js';
export type { EncodingConfig, EncodingConfigInput, TokenLayout } from './encoding-config.js';

// rng (the project's one seeded PRNG)
export { SeededRng, deriveSeed } from './rng.js';
export type { SeededRngState } from './rng.js';

// modalities (docs/model.md section 5): transforms, registry with sweeps, disjoint lists
export { ModalitySchema, applyModality, isDistribution, cropBand, cropBands, parseModality, sensorMatches } from './modality.js';
export { downsampleBand, resampleBand } from './resample.js';
export { SimulationSchema, simulateSensor, spectralWeights } from './sensor-simulation.js';
export type { Simulation, SimulationCatalog } from './sensor-simulation.js';
export type { ApplyModalityOptions, BandNameResolver, Modality, ModalityInput, RandomSource } from './modality.js';
export { BUILTIN_MODALITIES, ModalityRegistry, parseSweepName } from './modality-registry.js';
export {
  DEFAULT_S2_MODALITY_LISTS,
  ModalityListsConfigSchema,
  ModalityRefSchema,
  assertDisjoint,
  modalityKey,
  resolveModalityLists,
  loadModalityListsFile,
  seenTag,
  insideSupport,
  supportHolding,
  describeSupport,
} from './modality-lists.js';
export type { ModalityListName, ModalityLists, ModalityListsConfig } from './modality-lists.js';

// atoms and the fixed encodings (docs/model.md sections 1-2)
export { fourierDim, fourierFeatures, fourierFeaturesFast, fourierPlan, fourierScales } from './fourier.js';
export type { FloatArray, FourierPlan } from './fourier.js';
export { erf, erfc, spectralEncoding } from './spectral.js';
export type { SpectralBand, SpectralConfig } from './spectral.js';
export { gsdEncoding } from './gsd-encoding.js';
export type { GsdConfig } from './gsd-encoding.js';
export { timeEncoding, timeEncodingDim } from './time-encoding.js';
export { TokenEncoder, encodeBatchTokens, encodeTokens } from './tokens.js';
export { atomBandOf, atomize } from './atomize.js';
export type { AtomizeOptions, AtomizeResult } from './atomize.js';
export { subsampleAtoms } from './subsample.js';
export { makeBatch } from './batch.js';
export type { MakeBatchOptions } from './batch.js';
export { BandStatsAccumulator, bandStatsKey, describeNormalization } from './band-stats.js';
// stats lookup: exact <sensor>:<band> key, else the same band of the sensor's family
export { bandStatsFor } from './stats-lookup.js';
export type { BandStatsTable } from './stats-lookup.js';
export { AugmentConfigSchema, augmentBands, spectralAugment } from './spectral-augment.js';
export { dihedralAtoms, randomDihedral } from './spatial-augment.js';
export { randomRadiometry, radiometricJitterOn } from './radiometric-augment.js';
export type { RadiometricJitter } from './radiometric-augment.js';
// the training recipe of one sample: view, atomize, augmentations, subsampling
export { trainAtoms } from './train-view.js';
export type { TrainRecipe } from './train-view.js';
export type { AugmentConfig } from './spectral-augment.js';

// sensor catalogue (src/sensors/): built-in sensors of docs/sensors.md, sensor files, STAC Items
export {
  BUILTIN_SENSORS,
  SensorCatalog,
  SensorDefinitionSchema,
  StacItemSchema,
  loadSensorFile,
  loadStacItem,
  parseSensorDefinition,
  sensorFromStacItem,
  stacAssetBands,
  umToNm,
  validateSensor,
} from './sensors/index.js';
export type { BandMatch, SensorDefinition, SensorFromStacOptions, StacAsset, StacAssetBands, StacItem } from './sensors/index.js';

// dataset builder: reader -> shards + train-split band statistics -> manifest.json (written last)
export { DATASET_KINDS, buildDataset, parseDatasetSpec } from './dataset-builder.js';
export { datasetSourceKey } from './dataset-source-key.js';
// atomic sharding: shards staged under the attempt's build prefix, published by the manifest, swept when abandoned
export { BUILD_HEARTBEAT_MS, BUILD_STALE_MS, StagedBuild, sweepBuilds } from './staged-build.js';
export type { StagedBuildOptions, SweepResult } from './staged-build.js';

// splits (one place for train/val/test, their fractions and the hash split)
export { DEFAULT_GROUP_SPLIT_FRACTIONS, DEFAULT_SPLIT_FRACTIONS, SPLIT_NAMES, checkSplitFractions, splitByHash } from './split.js';
export type { SplitFractions, SplitName } from './split.js';
export type { BuildDatasetOptions, BuildDatasetResult, BuildProgress, DatasetKind, DatasetSpec } from './dataset-builder.js';

// readers (src/readers/): GeoTIFF files and band files, BigEarthNet patches, Statlog CSV,
// labelled scenes (polygons or label rasters) -> Samples; readDataset / readSampleAt dispatch
export {
  BIGEARTHNET_19_CLASSES,
  BIGEARTHNET_43_CLASSES,
  BIGEARTHNET_43_TO_19,
  BIGEARTHNET_S1_BANDS,
  BIGEARTHNET_S2_BANDS,
  READER_KINDS,
  STATLOG_CLASSES,
  STATLOG_TRAIN_ROWS,
  assignGroupSplits,
  bandNameFromFileName,
  bandSpan,
  formatGdalMetadata,
  geoTagsOf,
  openGeoTiffWindows,
  openSceneWindows,
  bigEarthNetClasses,
  bigEarthNetLabelIndices,
  countMissing,
  decodeGeoTiffBytes,
  decodeGeoTiffFile,
  imageGroups,
  listBigEarthNetPatches,
  parseAcquisitionTime,
  parseReaderSpec,
  pointInPolygon,
  readBandFiles,
  readBigEarthNetPatch,
  readDataset,
  readGeoTiff,
  readPolygons,
  readSampleAt,
  readSceneLabels,
  readStatlog,
  timeFromName,
  openRasterSource,
  readLocationBytes,
  BlockCache,
  defaultBlockCache,
  BLOCK_SIZE,
  chooseOverview,
  openGeoTiffSource,
  displayLocation,
  isRemote,
  resolveHref,
  loadStacDocument,
  isMtlPath,
  parseLandsatMtl,
  readLandsatMtl,
  level1Note,
} from './readers/index.js';
export type {
  BBox,
  BandFilesOptions,
  BigEarthNetNomenclature,
  BigEarthNetOptions,
  CrsInfo,
  DatasetItem,
  DatasetSource,
  DecodedGeoTiff,
  GeoSample,
  GeoTiffReadOptions,
  GeoTiffWindowReader,
  SceneWindows,
  GeoTransform,
  LabelledPatch,
  RasterGeo,
  ReadSampleOptions,
  ReaderKind,
  ReaderSpec,
  SampleGeo,
  SceneLabelOptions,
  SceneLabelResult,
  StatlogItem,
  RasterSource,
  RasterSourceOptions,
  GeoTiffOpenOptions,
  OpenedGeoTiff,
  StacItemRef,
  LandsatMtl,
  Level1Radiometry,
} from './readers/index.js';

// writers (src/writers/): tiled GeoTIFF pieces and a streaming Cloud-Optimized GeoTIFF writer
export { CogWriter } from './writers/cog-writer.js';
export type { CogLayout, CogWriterOptions } from './writers/cog-writer.js';
export type { GeoTags, InterleavedRaster } from './writers/tiff-encoding.js';

// shards (binary format, streaming writer, ranged reader) and the dataset manifest
export { DTYPES, allocRaster, dtypeOf } from './raster-dtype.js';
export { SHARD_FORMAT_VERSION, SHARD_MAGIC } from './shard-format.js';
export type { ShardBand, ShardFooter, ShardSampleEntry } from './shard-format.js';
export { ShardWriter, putShard, writeShard } from './shard-writer.js';
export type { ShardSink, ShardWriteResult, ShardWriterOptions } from './shard-writer.js';
export { ShardReader } from './shard-reader.js';
export type { ShardReaderOptions } from './shard-reader.js';
export {
  BandStatsSchema,
  MANIFEST_FORMAT_VERSION,
  ManifestSchema,
  ManifestShardSchema,
  parseManifest,
  serializeManifest,
  verifyShard,
} from './manifest.js';
export type { Manifest, ManifestInput, ManifestShard } from './manifest.js';
