import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerInput } from './predict-on-workers.js';

describe('where workers read the scene', () => {
  it('URLs and absolute paths as given; a relative path made absolute only with a local-folder store, else refused in one line', () => {
    expect(workerInput('https://example.org/a.tif', false)).toBe('https://example.org/a.tif');
    expect(workerInput('s3://bucket/scenes/a.tif', false)).toBe('s3://bucket/scenes/a.tif');
    expect(workerInput('/mnt/shared/a.tif', false)).toBe('/mnt/shared/a.tif');
    expect(workerInput('scenes/a.tif', true)).toBe(resolve('scenes/a.tif'));
    expect(() => workerInput('scenes/a.tif', false)).toThrow(
      /^--input scenes\/a\.tif: workers open the scene themselves and cannot resolve a relative path of this machine; give an http\(s\):\/\/ or s3:\/\/ URL, an absolute path/,
    );
  });
});
