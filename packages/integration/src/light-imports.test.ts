import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The model, the tokenizer and the contract every worker imports must not load Redis, S3 or
// BullMQ clients, nor the embedded S3 server (issue 12): the import graph is checked
// statically by dependency-cruiser (npm run lint:deps, .dependency-cruiser.cjs), and here
// at run time, in a fresh Node process, as the CLI runs the sources (tsx, @atomizer/source).

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const HOOKS = pathToFileURL(fileURLToPath(new URL('./record-resolved-hooks.mjs', import.meta.url))).href;
/** A module of one of the packages that must stay out; the match is the package's name. */
const HEAVY = /\/node_modules\/(ioredis|bullmq|s3rver|@aws-sdk\/[^/]+)\//;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-light-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The heavy packages a fresh process has loaded after importing `specifier`: ES modules resolved and CommonJS modules required. */
async function heavyPackagesLoadedBy(specifier: string): Promise<string[]> {
  const file = join(dir, `${specifier.replace(/\W+/g, '-')}.txt`);
  const script = [
    "import { createRequire, register } from 'node:module';",
    `register(${JSON.stringify(HOOKS)}, { data: { file: ${JSON.stringify(file)} } });`,
    `await import(${JSON.stringify(specifier)});`,
    "console.log(JSON.stringify(Object.keys(createRequire(process.cwd() + '/').cache)));",
  ].join('\n');
  const { stdout } = await run(
    process.execPath,
    ['--conditions=@atomizer/source', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const required = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
  const resolved = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  expect(resolved.length, `no module resolution of ${specifier} was recorded`).toBeGreaterThan(0);
  const names = [...resolved, ...required].map((m) => HEAVY.exec(m.replaceAll('\\', '/'))?.[1]).filter((n) => n !== undefined);
  return [...new Set(names)].sort();
}

describe('what importing a package loads', () => {
  it.each(['@atomizer/protocol', '@atomizer/tokenizer', '@atomizer/model'])(
    '%s loads no ioredis, bullmq, s3rver or AWS SDK module',
    async (pkg) => {
      expect(await heavyPackagesLoadedBy(pkg)).toEqual([]);
    },
  );

  it('sees them where they belong: the /s3 and /redis entry points of the contract', async () => {
    expect(await heavyPackagesLoadedBy('@atomizer/protocol/s3')).toEqual(
      expect.arrayContaining(['@aws-sdk/client-s3', '@aws-sdk/lib-storage']),
    );
    expect(await heavyPackagesLoadedBy('@atomizer/protocol/redis')).toEqual(['ioredis']);
  });
});
