// Acquisition times as metadata and file names spell them, turned into the
// AcquisitionTime of a Sample (ISO string, year, day of year in UTC).

import type { AcquisitionTime } from '../types.js';

const DATE_TIME = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Day of year (1..366) of a UTC date. */
export function dayOfYear(year: number, month: number, day: number): number {
  return Math.round((Date.UTC(year, month - 1, day) - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
}

/**
 * Parse "2017-06-17 11:33:21", "2017-06-13T16:50:43", "20170617",
 * "20170617T113321" (times without a zone are UTC, as satellite metadata is).
 * Returns undefined when `text` is not such a date; throws for a date-shaped
 * string with an impossible month/day, naming `source`.
 */
export function parseAcquisitionTime(text: string, source: string): AcquisitionTime | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const [hh, mm, ss] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const ms = Date.UTC(year, month - 1, day, hh, mm, ss);
  const check = new Date(ms);
  if (month < 1 || month > 12 || check.getUTCDate() !== day || hh > 23 || mm > 59 || ss > 60) {
    throw new Error(`${source}: '${text}' is not a valid date (expected YYYY-MM-DD[ hh:mm:ss])`);
  }
  let iso = check.toISOString().replace('.000Z', 'Z');
  if (m[7] !== undefined && m[7] !== 'Z') {
    // Keep the stated offset in the ISO string; the day of year is of the local date given.
    iso = `${m[1]}-${m[2]}-${m[3]}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}${m[7]}`;
  }
  return { iso, year, doy: dayOfYear(year, month, day) };
}

/**
 * A date embedded in a file or folder name: a '_'-separated token that is
 * YYYYMMDD or YYYYMMDDThhmmss with a plausible year (Landsat product ids
 * `LC08_L1TP_195025_20130707_...` carry the acquisition date first, the
 * processing date later; Sentinel names `S2A_MSIL2A_20170617T113321_...`).
 */
export function timeFromName(name: string): AcquisitionTime | undefined {
  for (const token of name.split(/[_.]/)) {
    if (!/^\d{8}(T\d{6})?$/.test(token)) continue;
    const year = Number(token.slice(0, 4));
    if (year < 1972 || year > 2100) continue;
    try {
      const t = parseAcquisitionTime(token, name);
      if (t !== undefined) return t;
    } catch {
      // Not a date after all (e.g. a numeric id): keep looking.
    }
  }
  return undefined;
}
