// Imagery readers: files and dataset layouts -> Samples (see ../types.ts).
// Internal helpers (GDAL metadata parsing, CSV splitting) stay private.

export { BIGEARTHNET_S1_BANDS, BIGEARTHNET_S2_BANDS, listBigEarthNetPatches, readBigEarthNetPatch } from './bigearthnet.js';
export type { BigEarthNetOptions } from './bigearthnet.js';
export {
  BIGEARTHNET_19_CLASSES,
  BIGEARTHNET_43_CLASSES,
  BIGEARTHNET_43_TO_19,
  bigEarthNetClasses,
  bigEarthNetLabelIndices,
} from './bigearthnet-classes.js';
export type { BigEarthNetNomenclature } from './bigearthnet-classes.js';
export { readBandFiles, readGeoTiff } from './geotiff.js';
export type { BandFilesOptions, GeoSample, GeoTiffReadOptions, SampleGeo } from './geotiff.js';
export { countMissing, decodeGeoTiffBytes, decodeGeoTiffFile } from './geotiff-file.js';
export type { DecodedGeoTiff, RasterGeo } from './geotiff-file.js';
export { pixelCentre, pixelSizeMetres, transformBBox, worldToPixel } from './geo-transform.js';
export type { BBox, CrsInfo, GeoTransform } from './geo-transform.js';
export { parseAcquisitionTime, timeFromName } from './acquisition-time.js';
export { bandNameFromFileName, sensorFromName } from './band-naming.js';
export { STATLOG_CLASSES, STATLOG_TRAIN_ROWS, readStatlog } from './statlog.js';
export type { StatlogItem, StatlogOptions } from './statlog.js';
export { assignGroupSplits, readSceneLabels } from './scene-labels.js';
export type { LabelledPatch, SceneLabelOptions, SceneLabelResult } from './scene-labels.js';
export { epsgOfCrsName, parsePolygons, pointInPolygon, readPolygons } from './geojson-polygons.js';
export type { LabelledPolygon, PolygonFile, Ring } from './geojson-polygons.js';
export { polygonFileEpsg, projDefinition, reprojectPolygons } from './label-reprojection.js';
export { parseClassTable, readClassTable } from './class-table.js';
export { loadStacDocument, readStacItem, stacItemFiles } from './stac-item.js';
export type { StacItemReadOptions, StacItemRef } from './stac-item.js';
export { READER_KINDS, imageGroups, parseReaderSpec, readDataset, readSampleAt } from './dataset.js';
export type { DatasetItem, DatasetSource, ReadSampleOptions, ReaderKind, ReaderSpec } from './dataset.js';
export { isMtlPath, parseLandsatMtl, readLandsatMtl } from './landsat-mtl.js';
export type { LandsatMtl, MtlBand, MtlGains } from './landsat-mtl.js';
export { brightnessTemperature } from './landsat-toa.js';
export type { BandCalibration } from './landsat-toa.js';
export { level1Note } from './landsat-level1.js';
export type { Level1Radiometry } from './landsat-level1.js';
export { openGeoTiffWindows } from './geotiff-window.js';
export type { GeoTiffWindowReader } from './geotiff-window.js';
export { bandSpan, openSceneWindows } from './scene-windows.js';
export type { SceneWindows } from './scene-windows.js';
export { formatGdalMetadata } from './gdal-metadata.js';
export { geoTagsOf } from './geo-tags.js';
export { openRasterSource, readLocationBytes } from './raster-source.js';
export type { RasterSource, RasterSourceOptions } from './raster-source.js';
export { BlockCache, defaultBlockCache } from './block-cache.js';
export { BLOCK_SIZE } from './cached-source.js';
export { chooseOverview, openGeoTiffSource } from './geotiff-source.js';
export type { GeoTiffOpenOptions, OpenedGeoTiff } from './geotiff-source.js';
export { displayLocation, isRemote, resolveHref } from './remote-location.js';
