import { describe, expect, it } from 'vitest';
import { checkRedis, connectRedis, freePort, redactRedisUrl, redisOptions, startEmbeddedRedis } from './redis.js';

describe('redis options', () => {
  it('parses plain, authenticated and TLS URLs; passwords come from the env too and are redacted', () => {
    expect(redisOptions('redis://h:7000/2')).toMatchObject({ host: 'h', port: 7000, db: 2, maxRetriesPerRequest: 3 });
    expect(redisOptions('redis://h', { role: 'worker' }).maxRetriesPerRequest).toBeNull();
    expect(redisOptions('rediss://u:p%40ss@h:6380')).toMatchObject({ username: 'u', password: 'p@ss', tls: { servername: 'h' } });
    expect(redisOptions('redis://h', { env: { REDIS_PASSWORD: 's3cret' } }).password).toBe('s3cret');
    expect(redactRedisUrl('redis://u:secret@h:1')).toBe('redis://u:***@h:1');
    expect(() => redisOptions('http://h')).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => redisOptions('not a url')).toThrow(/invalid Redis URL/);
  });

  it('says what to do when nothing answers', async () => {
    const port = await freePort();
    await expect(checkRedis(`redis://127.0.0.1:${port}`, 1000)).rejects.toThrow(/does not answer[\s\S]*--redis \/ REDIS_URL/);
  });

  it('starts a real redis-server child and stops it', async () => {
    const r = await startEmbeddedRedis();
    try {
      const c = connectRedis(r.url);
      await c.set('k', 'v');
      expect(await c.get('k')).toBe('v');
      expect(await c.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      c.disconnect();
    } finally {
      await r.stop();
    }
    await expect(checkRedis(r.url, 500)).rejects.toThrow(/does not answer/);
  });
});
