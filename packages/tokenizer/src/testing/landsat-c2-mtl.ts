// A Collection 2 Level-1 MTL, cut to the keys the reader uses, with the group
// and key names USGS documents for Collection 2 (Landsat 8-9 OLI/TIRS C2 L1
// Data Format Control Book, LSDS-1822): PRODUCT_CONTENTS, IMAGE_ATTRIBUTES,
// LEVEL1_RADIOMETRIC_RESCALING, LEVEL1_THERMAL_CONSTANTS.
export const C2_ID = 'LC08_L1TP_195025_20130707_20200912_02_T1';
export function c2MtlText(opts: { sunElevation?: string; drop?: string } = {}): string {
  const lines = [
    'GROUP = LANDSAT_METADATA_FILE',
    '  GROUP = PRODUCT_CONTENTS',
    '    ORIGIN = "Image courtesy of the U.S. Geological Survey"',
    `    LANDSAT_PRODUCT_ID = "${C2_ID}"`,
    '    PROCESSING_LEVEL = "L1TP"',
    '    COLLECTION_NUMBER = 02',
    '    COLLECTION_CATEGORY = "T1"',
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((b) => `    FILE_NAME_BAND_${b} = "${C2_ID}_B${b}.TIF"`),
    `    FILE_NAME_QUALITY_L1_PIXEL = "${C2_ID}_QA_PIXEL.TIF"`,
    `    FILE_NAME_QUALITY_L1_RADIOMETRIC_SATURATION = "${C2_ID}_QA_RADSAT.TIF"`,
    `    FILE_NAME_METADATA_ODL = "${C2_ID}_MTL.txt"`,
    '  END_GROUP = PRODUCT_CONTENTS',
    '  GROUP = IMAGE_ATTRIBUTES',
    '    SPACECRAFT_ID = "LANDSAT_8"',
    '    SENSOR_ID = "OLI_TIRS"',
    '    DATE_ACQUIRED = 2013-07-07',
    '    SCENE_CENTER_TIME = "10:17:42.1661960Z"',
    '    SUN_AZIMUTH = 146.98479703',
    `    SUN_ELEVATION = ${opts.sunElevation ?? '58.99675180'}`,
    '    EARTH_SUN_DISTANCE = 1.0166988',
    '  END_GROUP = IMAGE_ATTRIBUTES',
    '  GROUP = LEVEL1_RADIOMETRIC_RESCALING',
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((b) => [
      `    REFLECTANCE_MULT_BAND_${b} = 2.0000E-05`,
      `    REFLECTANCE_ADD_BAND_${b} = -0.100000`,
    ]),
    ...[10, 11].flatMap((b) => [`    RADIANCE_MULT_BAND_${b} = 3.3420E-04`, `    RADIANCE_ADD_BAND_${b} = 0.10000`]),
    '  END_GROUP = LEVEL1_RADIOMETRIC_RESCALING',
    '  GROUP = LEVEL1_THERMAL_CONSTANTS',
    '    K1_CONSTANT_BAND_10 = 774.8853',
    '    K2_CONSTANT_BAND_10 = 1321.0789',
    '    K1_CONSTANT_BAND_11 = 480.8883',
    '    K2_CONSTANT_BAND_11 = 1201.1442',
    '  END_GROUP = LEVEL1_THERMAL_CONSTANTS',
    'END_GROUP = LANDSAT_METADATA_FILE',
    'END',
  ];
  return lines.filter((l) => opts.drop === undefined || !l.includes(opts.drop)).join('\n');
}
