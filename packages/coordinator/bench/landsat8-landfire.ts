// The real labelled Landsat-8 scene of the shared data as a scene description
// (docs/datasets.md): surface reflectance B4, B5, B6 (red, NIR, SWIR1; uint16
// DN, no scale metadata) with LANDFIRE Existing Vegetation Type labels, mapped
// onto the Sentinel-2 scene's classes by landsat8-landfire-legend.csv (tree
// types -> forest, open water -> water, sparse bedrock and scree -> dryout;
// grass, shrub and riparian types left out). Used by bench:cross-scene and the
// eval tests.

import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dataPath } from '@atomizer/tokenizer';

export const LANDFIRE_LEGEND = fileURLToPath(new URL('landsat8-landfire-legend.csv', import.meta.url));

const L8 = (f: string): string => dataPath('landsat8_landfire_gdalraster', f);

/** Write the description to `path` (3x3 patches, every `stride`-th labelled pixel; `reflectance`: the Collection 2 SR scaling 2.75e-5 x DN - 0.2); returns the `scene:` dataset spec. */
export async function writeLandsatLandfireScene(path: string, opts: { stride: number; reflectance: boolean }): Promise<string> {
  await writeFile(
    path,
    [
      `scene: [${['sr_b4_20200829.tif', 'sr_b5_20200829.tif', 'sr_b6_20200829.tif'].map(L8).join(', ')}]`,
      `labels: ${L8('storml_evt.tif')}`,
      `classTable: ${LANDFIRE_LEGEND}`,
      'sensor: landsat-8',
      'patchSize: 3',
      `stride: ${opts.stride}`,
      ...(opts.reflectance ? ['scale: 0.0000275', 'offset: -0.2'] : []),
    ].join('\n'),
  );
  return `scene:${path}`;
}
