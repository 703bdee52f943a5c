// Core data types of the tokenizer, shared by readers, modalities, atoms,
// encodings and shards. See ../../../docs/architecture.md for the data flow:
//
//   reader -> Sample (rasters + band metadata) -> modality -> atomize -> AtomSet
//          -> encodeTokens (typed arrays) | model input stage (tfjs ops)
//   Sample -> shard writer -> shard bytes -> shard reader -> Sample

/** Typed arrays a band's values may be stored in (its on-disk dtype). */
export type RasterArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export type DType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

/**
 * What a band measures. Spectral bands carry a wavelength interval; channel
 * bands (SAR polarisations, elevation) carry a kind that the model maps to a
 * learned vector in place of the spectral encoding (docs/model.md section 2.5).
 */
export type BandPhysics = { kind: 'spectral'; wavelengthNm: number; bandwidthNm: number } | { kind: 'channel'; channelKind: string };

/** A band as the sensor catalogue describes it. */
export type BandSpec = BandPhysics & {
  /** Canonical name within its sensor, e.g. 'B02'. */
  name: string;
  /** Other names that resolve to this band: 'B2', 'blue', ... (case-insensitive). */
  aliases: string[];
  /** STAC common name where one exists ('blue', 'nir08', 'swir16' ...). */
  commonName?: string;
  /** Native ground sample distance, metres. */
  gsdM: number;
  description?: string;
};

export interface Sensor {
  /** Catalogue key, e.g. 'sentinel-2a'. */
  id: string;
  /** Human name, e.g. 'Sentinel-2A MSI'. */
  name: string;
  /** Other ids that resolve to this sensor ('s2a', 'S2A', 'sentinel2a'). */
  aliases: string[];
  /**
   * Sensors of one family carry the same physical bands under the same names
   * (Sentinel-2A and 2B: 'sentinel-2'; Landsat 8 and 9 OLI: 'landsat-oli').
   * Normalisation falls back to a family member's statistics for a band
   * (stats-lookup.ts); statistics are still computed per sensor.
   */
  family?: string;
  bands: BandSpec[];
  /** Named band groups usable in modality band subsets ('rgb', 'rededge', 'swir', '10m' ...). */
  groups: Record<string, string[]>;
  /** Where the numbers come from. */
  source: string;
}

/** Acquisition time of a sample; undefined fields mean unknown. */
export interface AcquisitionTime {
  /** ISO 8601 timestamp as read from the metadata. */
  iso: string;
  year: number;
  /** Day of year, 1..366. */
  doy: number;
}

/**
 * One band of one sample: a raster in its stored dtype plus everything needed
 * to turn its pixels into atoms. Physical value = stored * scale + offset;
 * stored values equal to `nodata` (or NaN) are missing atoms.
 */
export type BandRaster = BandPhysics & {
  /** Canonical band name (catalogue name when known). */
  name: string;
  /** Catalogue sensor id, or a user sensor's id. */
  sensor: string;
  gsdM: number;
  width: number;
  height: number;
  values: RasterArray;
  scale: number;
  offset: number;
  nodata?: number;
};

/** One training/evaluation example: a set of bands over one footprint, plus labels. */
export interface Sample {
  id: string;
  bands: BandRaster[];
  /** Class indices into the dataset's class list (one for single-label, any number for multi-label). */
  labels: number[];
  time?: AcquisitionTime;
  /** Where the sample came from (file or folder), for error messages. */
  source?: string;
}

/** One entry of an AtomSet's band table: the per-band context every atom of that band shares. */
export type AtomBand = BandPhysics & {
  name: string;
  gsdM: number;
};

/**
 * A set of atoms in compact struct-of-arrays form: the few bytes per atom a
 * worker sends to the device (docs/model.md section 1). Token encoding expands
 * these to `tokenDim` floats per atom, on the CPU (encodeTokens) or on the
 * device (the model's input stage).
 */
export interface AtomSet {
  /** Number of atoms. */
  length: number;
  /** Normalised value of each atom. */
  value: Float32Array;
  /** Index into `bands` of each atom. */
  band: Uint16Array;
  /** Pixel-centre offset from the image centre, metres (x east, y north). */
  x: Float32Array;
  y: Float32Array;
  bands: AtomBand[];
  /** Acquisition day of year (1..366) or NaN when unknown. */
  doy: number;
}

/**
 * A padded batch of atom sets, the compact records the model's input stage
 * consumes (and `encodeBatchTokens` expands on the CPU). Arrays of length
 * B*N are row-major [sample][atom]; padded slots have mask 0 and zeros elsewhere.
 */
export interface AtomBatch {
  /** B: number of samples. */
  batchSize: number;
  /** N: atoms per sample after padding (the largest set in the batch). */
  maxAtoms: number;
  value: Float32Array;
  /** Index into `bands` (the batch's band table). */
  band: Int32Array;
  x: Float32Array;
  y: Float32Array;
  /** 1 for a real atom, 0 for padding. */
  mask: Float32Array;
  /** Per sample: day of year (1..366) or NaN when unknown. Length B. */
  doy: Float32Array;
  /** Band table shared by the batch (per-sample augmented bands are distinct entries). */
  bands: AtomBand[];
}

/**
 * Normalisation statistics of one band over a dataset's training split,
 * computed on physical values (stored * scale + offset), missing atoms excluded.
 * `key` is `<sensor>:<band>`.
 */
export interface BandStats {
  key: string;
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}
