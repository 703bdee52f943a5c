// The GDAL_METADATA TIFF tag (42112): an XML list of
//   <Item name="DESCRIPTION" sample="0" role="description">B1</Item>
//   <Item name="SCALE" sample="0" role="scale">0.0001</Item>
// GDAL writes band descriptions, scale and offset this way; we read only those
// three roles per band (sample) and ignore statistics and dataset-level items.

export interface GdalBandMetadata {
  description?: string;
  scale?: number;
  offset?: number;
}

const ITEM = /<Item\b([^>]*)>([\s\S]*?)<\/Item>/g;
const ATTR = /(\w+)\s*=\s*"([^"]*)"/g;

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * Per-band description/scale/offset from a GDAL_METADATA XML string, indexed by
 * sample (band) number. `source` names the file in errors.
 */
export function parseGdalMetadata(xml: string, bandCount: number, source: string): GdalBandMetadata[] {
  const out: GdalBandMetadata[] = Array.from({ length: bandCount }, () => ({}));
  for (const m of xml.matchAll(ITEM)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(ATTR)) attrs[a[1] as string] = a[2] as string;
    if (attrs.sample === undefined) continue;
    const sample = Number(attrs.sample);
    const band = out[sample];
    if (band === undefined) continue;
    const role = (attrs.role ?? '').toLowerCase();
    const text = unescapeXml((m[2] ?? '').trim());
    if (role === 'description') {
      if (text !== '') band.description = text;
    } else if (role === 'scale' || role === 'offset') {
      const v = Number(text);
      if (!Number.isFinite(v)) {
        throw new Error(`${source}: GDAL_METADATA ${role} of band ${sample + 1} is '${text}', expected a number`);
      }
      band[role] = v;
    }
  }
  return out;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A GDAL_METADATA XML string: dataset-level items (`gdalinfo` lists them under
 * "Metadata:") and per-band description/scale/offset (what parseGdalMetadata reads).
 */
export function formatGdalMetadata(dataset: Readonly<Record<string, string>>, bands: readonly GdalBandMetadata[] = []): string {
  const items: string[] = Object.entries(dataset).map(([k, v]) => `  <Item name="${escapeXml(k)}">${escapeXml(v)}</Item>`);
  bands.forEach((b, i) => {
    if (b.description !== undefined)
      items.push(`  <Item name="DESCRIPTION" sample="${i}" role="description">${escapeXml(b.description)}</Item>`);
    if (b.scale !== undefined) items.push(`  <Item name="SCALE" sample="${i}" role="scale">${b.scale}</Item>`);
    if (b.offset !== undefined) items.push(`  <Item name="OFFSET" sample="${i}" role="offset">${b.offset}</Item>`);
  });
  return `<GDALMetadata>\n${items.join('\n')}\n</GDALMetadata>`;
}
