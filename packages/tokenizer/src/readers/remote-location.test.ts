import { describe, expect, it } from 'vitest';
import { displayLocation, isRemote, locationKind, resolveHref } from './remote-location.js';

describe('remote locations', () => {
  it('tells local paths, file://, http(s):// and s3:// apart; other schemes are an Error naming them', () => {
    expect(['/d/a.tif', 'file:///d/a.tif', 'https://h/a.tif', 'S3://b/k.tif'].map(locationKind)).toEqual(['file', 'file', 'http', 's3']);
    expect(['/d/a.tif', 'http://h/a', 's3://b/k'].map(isRemote)).toEqual([false, true, true]);
    expect(() => locationKind('ftp://h/a.tif')).toThrow(
      /^ftp:\/\/h\/a\.tif: unsupported scheme; expected a local path, file:\/\/, http\(s\):\/\/ or s3:\/\/bucket\/key$/,
    );
  });

  it('resolves hrefs against an item URL or file', () => {
    expect(resolveHref('https://h/stac/items/x.json?y=1', '../files/b4.tif')).toBe('https://h/stac/files/b4.tif');
    expect(resolveHref('s3://bucket/items/x.json', 'b4.tif')).toBe('s3://bucket/items/b4.tif');
    expect(resolveHref('/data/items/x.json', '../files/b4.tif')).toBe('/data/files/b4.tif');
    expect(resolveHref('https://h/x.json', 's3://b/k.tif')).toBe('s3://b/k.tif');
    expect(resolveHref('/data/x.json', '/abs/b4.tif')).toBe('/abs/b4.tif');
  });

  it('names URLs without user:password or secret query values', () => {
    expect(displayLocation('https://me:pw@h/a.tif?X-Amz-Signature=s3cr3t&X-Amz-Credential=AKIA&part=2')).toBe(
      'https://h/a.tif?X-Amz-Signature=***&X-Amz-Credential=***&part=2',
    );
    expect(displayLocation('/plain/path.tif')).toBe('/plain/path.tif');
  });
});
