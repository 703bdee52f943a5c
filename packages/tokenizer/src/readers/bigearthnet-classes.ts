// BigEarthNet label nomenclatures (docs/datasets.md): the 43 CORINE Land Cover
// classes the patch metadata carries, and the 19-class nomenclature the papers
// (and the Atomizer authors) train on, with the published 43 -> 19 mapping.

/** The 43 CORINE level-3 class names, in CORINE code order (BigEarthNet v1 labels). */
export const BIGEARTHNET_43_CLASSES: readonly string[] = [
  'Continuous urban fabric',
  'Discontinuous urban fabric',
  'Industrial or commercial units',
  'Road and rail networks and associated land',
  'Port areas',
  'Airports',
  'Mineral extraction sites',
  'Dump sites',
  'Construction sites',
  'Green urban areas',
  'Sport and leisure facilities',
  'Non-irrigated arable land',
  'Permanently irrigated land',
  'Rice fields',
  'Vineyards',
  'Fruit trees and berry plantations',
  'Olive groves',
  'Pastures',
  'Annual crops associated with permanent crops',
  'Complex cultivation patterns',
  'Land principally occupied by agriculture, with significant areas of natural vegetation',
  'Agro-forestry areas',
  'Broad-leaved forest',
  'Coniferous forest',
  'Mixed forest',
  'Natural grassland',
  'Moors and heathland',
  'Sclerophyllous vegetation',
  'Transitional woodland/shrub',
  'Beaches, dunes, sands',
  'Bare rock',
  'Sparsely vegetated areas',
  'Burnt areas',
  'Inland marshes',
  'Peatbogs',
  'Salt marshes',
  'Salines',
  'Intertidal flats',
  'Water courses',
  'Water bodies',
  'Coastal lagoons',
  'Estuaries',
  'Sea and ocean',
];

const LAND_PRINCIPALLY = 'Land principally occupied by agriculture, with significant areas of natural vegetation';

/** 43-class name -> 19-class name, or null where the 19-class nomenclature drops the label (docs/datasets.md table). */
export const BIGEARTHNET_43_TO_19: Readonly<Record<string, string | null>> = {
  'Continuous urban fabric': 'Urban fabric',
  'Discontinuous urban fabric': 'Urban fabric',
  'Industrial or commercial units': 'Industrial or commercial units',
  'Road and rail networks and associated land': null,
  'Port areas': null,
  Airports: null,
  'Mineral extraction sites': null,
  'Dump sites': null,
  'Construction sites': null,
  'Green urban areas': null,
  'Sport and leisure facilities': null,
  'Non-irrigated arable land': 'Arable land',
  'Permanently irrigated land': 'Arable land',
  'Rice fields': 'Arable land',
  Vineyards: 'Permanent crops',
  'Fruit trees and berry plantations': 'Permanent crops',
  'Olive groves': 'Permanent crops',
  'Annual crops associated with permanent crops': 'Permanent crops',
  Pastures: 'Pastures',
  'Complex cultivation patterns': 'Complex cultivation patterns',
  [LAND_PRINCIPALLY]: LAND_PRINCIPALLY,
  'Agro-forestry areas': 'Agro-forestry areas',
  'Broad-leaved forest': 'Broad-leaved forest',
  'Coniferous forest': 'Coniferous forest',
  'Mixed forest': 'Mixed forest',
  'Natural grassland': 'Natural grassland and sparsely vegetated areas',
  'Sparsely vegetated areas': 'Natural grassland and sparsely vegetated areas',
  'Moors and heathland': 'Moors, heathland and sclerophyllous vegetation',
  'Sclerophyllous vegetation': 'Moors, heathland and sclerophyllous vegetation',
  'Transitional woodland/shrub': 'Transitional woodland, shrub',
  'Beaches, dunes, sands': 'Beaches, dunes, sands',
  'Bare rock': null,
  'Burnt areas': null,
  'Intertidal flats': null,
  'Inland marshes': 'Inland wetlands',
  Peatbogs: 'Inland wetlands',
  'Salt marshes': 'Coastal wetlands',
  Salines: 'Coastal wetlands',
  'Water courses': 'Inland waters',
  'Water bodies': 'Inland waters',
  'Coastal lagoons': 'Marine waters',
  Estuaries: 'Marine waters',
  'Sea and ocean': 'Marine waters',
};

/**
 * The 19 class names sorted alphabetically (JavaScript code-unit order), the
 * index order TorchGeo and most code use (docs/datasets.md "Class order").
 */
export const BIGEARTHNET_19_CLASSES: readonly string[] = [
  ...new Set(Object.values(BIGEARTHNET_43_TO_19).filter((c): c is string => c !== null)),
].sort();

export type BigEarthNetNomenclature = 19 | 43;

/** The class list labels index into, for a nomenclature. */
export function bigEarthNetClasses(nomenclature: BigEarthNetNomenclature = 19): readonly string[] {
  return nomenclature === 43 ? BIGEARTHNET_43_CLASSES : BIGEARTHNET_19_CLASSES;
}

const INDEX_43 = new Map(BIGEARTHNET_43_CLASSES.map((c, i) => [c, i]));
const INDEX_19 = new Map(BIGEARTHNET_19_CLASSES.map((c, i) => [c, i]));

/**
 * Class indices (sorted, unique) for a patch's 43-class label names. Labels the
 * 19-class nomenclature drops give nothing. An unknown name is an Error naming
 * `source` (the metadata file) and the label.
 */
export function bigEarthNetLabelIndices(names: readonly string[], nomenclature: BigEarthNetNomenclature, source: string): number[] {
  const out = new Set<number>();
  for (const name of names) {
    const i43 = INDEX_43.get(name);
    if (i43 === undefined) {
      throw new Error(`${source}: labels: '${name}' is not one of the 43 BigEarthNet CORINE class names`);
    }
    if (nomenclature === 43) {
      out.add(i43);
      continue;
    }
    const c19 = BIGEARTHNET_43_TO_19[name];
    if (c19 === null || c19 === undefined) continue;
    out.add(INDEX_19.get(c19) as number);
  }
  return [...out].sort((a, b) => a - b);
}
