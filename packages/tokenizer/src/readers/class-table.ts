// A class table for a label raster: CSV rows `id,name[,...]`, with or without
// a header (`sen2_classes.csv` is `1,dryout`; LANDFIRE's `LF20_EVT_220.csv`
// is `VALUE,EVT_NAME,...`). Ids are the raster's pixel values.

import { readFile } from 'node:fs/promises';
import { splitCsvLine } from './csv.js';

/**
 * id -> class name. The id column is the first; the name column is the
 * second, or with a header the first column whose name contains NAME or
 * CLASS (e.g. EVT_NAME). Errors name the file and line.
 */
export function parseClassTable(text: string, source: string): Map<number, string> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines[0];
  if (first === undefined) throw new Error(`${source}: empty class table; expected rows id,name`);
  const head = splitCsvLine(first);
  const hasHeader = !Number.isFinite(Number(head[0]));
  let nameCol = 1;
  if (hasHeader) {
    const i = head.findIndex((h, k) => k > 0 && /name|class/i.test(h));
    if (i > 0) nameCol = i;
  }
  const table = new Map<number, string>();
  lines.slice(hasHeader ? 1 : 0).forEach((line, k) => {
    const lineNo = k + (hasHeader ? 2 : 1);
    const f = splitCsvLine(line);
    const id = Number(f[0]);
    const name = f[nameCol];
    if (f[0] === '' || !Number.isFinite(id)) throw new Error(`${source}: line ${lineNo}: id '${f[0]}' is not a number`);
    if (name === undefined || name === '') throw new Error(`${source}: line ${lineNo}: no class name in column ${nameCol + 1}`);
    if (table.has(id)) throw new Error(`${source}: line ${lineNo}: class id ${id} appears twice`);
    table.set(id, name);
  });
  return table;
}

export async function readClassTable(path: string): Promise<Map<number, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read class table (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseClassTable(text, path);
}
