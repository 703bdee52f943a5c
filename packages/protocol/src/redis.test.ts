import { describe, expect, it } from 'vitest';
import { RedisAuthError, checkRedis, connectRedis, freePort, redactRedisUrl, redisOptions, startEmbeddedRedis } from './redis.js';

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

  it('never echoes a password, even in a URL that does not parse', () => {
    const message = (url: string): string => {
      try {
        redisOptions(url);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error(`test: ${url} was accepted`);
    };
    // '/' in the password ends the authority: the URL does not parse.
    const slash = message('redis://user:hunter2/x@10.0.0.5:6379');
    expect(slash).toMatch(/^invalid Redis URL "redis:\/\/\*\*\*@10\.0\.0\.5:6379": expected redis:\/\/.*REDIS_PASSWORD$/);
    expect(slash).not.toContain('hunter2');
    // No scheme: 'user:' parses as one, and the password sits in the path.
    const noScheme = message('user:hunter2@10.0.0.5:6379');
    expect(noScheme).toMatch(/scheme must be redis:\/\/ or rediss:\/\//);
    expect(noScheme).not.toContain('hunter2');
    expect(message('redis://:hunter2@h:6379/x')).not.toContain('hunter2');
    expect(message('redis://:hunter2@h:notaport')).not.toContain('hunter2');
    // '#' in the password: parses, as host 'user' port 12 and a fragment holding the rest.
    expect(redactRedisUrl('redis://user:12#hunter2@h:6379')).toBe('redis://***@h:6379');
    expect(redactRedisUrl('redis://h:6379/0')).toBe('redis://h:6379/0');
    expect(redactRedisUrl('not a url')).toBe('not a url');
  });

  it('names a wrong or missing password as an authentication failure, against a real redis-server with requirepass', async () => {
    const r = await startEmbeddedRedis({ args: ['--requirepass', 'correct-horse-9'] });
    try {
      const wrong = checkRedis(`redis://:battery-staple-1@127.0.0.1:${r.port}`, 2000, {});
      await expect(wrong).rejects.toThrow(RedisAuthError);
      await expect(wrong).rejects.toThrow(
        /^Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused authentication \(WRONGPASS invalid username-password pair[^)]*\): check the password \(and user\) in the URL .* or REDIS_PASSWORD \(REDIS_USERNAME\)\.$/,
      );
      await expect(wrong).rejects.not.toThrow(/battery-staple|does not answer|Start one/);
      await expect(checkRedis(r.url, 2000, {})).rejects.toThrow(
        /refused authentication \(NOAUTH Authentication required\.\): check the password/,
      );
      await expect(checkRedis(`redis://bob:x@127.0.0.1:${r.port}`, 2000, {})).rejects.toThrow(/refused authentication \(WRONGPASS/);
      // The right password, from the URL or the environment: it answers.
      await expect(checkRedis(`redis://:correct-horse-9@127.0.0.1:${r.port}`, 2000, {})).resolves.toBeUndefined();
      await expect(checkRedis(r.url, 2000, { REDIS_PASSWORD: 'correct-horse-9' })).resolves.toBeUndefined();
    } finally {
      await r.stop();
    }
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
