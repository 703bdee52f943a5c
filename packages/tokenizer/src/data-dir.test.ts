import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataPath, sharedDataDir } from './data-dir.js';

describe('sharedDataDir', () => {
  it('finds the bundled real data beside the checkout', () => {
    expect(existsSync(dataPath('statlog', 'statlog_landsat_satellite.csv'))).toBe(true);
  });

  it('honours ATOMIZER_DATA and rejects a missing folder', () => {
    const saved = process.env.ATOMIZER_DATA;
    try {
      process.env.ATOMIZER_DATA = '/nonexistent/atomizer-data';
      expect(() => sharedDataDir()).toThrow(/ATOMIZER_DATA=\/nonexistent/);
    } finally {
      if (saved === undefined) delete process.env.ATOMIZER_DATA;
      else process.env.ATOMIZER_DATA = saved;
    }
  });
});
