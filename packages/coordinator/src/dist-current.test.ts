import { mkdir, mkdtemp, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { distStaleReason, workspacePackages } from '../bin/dist-current.js';
import { runCli } from './commands/run-cli.js';

// bin/dist-current.js decides whether `atomizer` runs dist/ or the sources through tsx.

async function file(path: string, text = '', mtimeS = 1_000): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  await utimes(path, mtimeS, mtimeS);
}

/** A workspace: packages/cli depends on @atomizer/lib (node_modules symlink), both built at t=2000. */
async function workspace(): Promise<{ cli: string; lib: string }> {
  const root = await mkdtemp(join(tmpdir(), 'atomizer-dist-current-'));
  const cli = join(root, 'packages/cli');
  const lib = join(root, 'packages/lib');
  await file(join(cli, 'package.json'), JSON.stringify({ name: '@atomizer/cli', dependencies: { '@atomizer/lib': '*', yaml: '*' } }));
  await file(join(lib, 'package.json'), JSON.stringify({ name: '@atomizer/lib' }));
  await mkdir(join(root, 'node_modules/@atomizer'), { recursive: true });
  await symlink(lib, join(root, 'node_modules/@atomizer/lib'));
  for (const [pkg, files] of [
    [cli, ['cli.ts', 'commands/train.ts', 'public/index.html']],
    [lib, ['index.ts']],
  ] as const) {
    for (const f of files) {
      await file(join(pkg, 'src', f));
      await file(join(pkg, 'dist', f.replace(/\.ts$/, '.js')), '', 2_000);
    }
    await file(join(pkg, 'src/x.test.ts'), '', 3_000);
    await file(join(pkg, 'src/testing/helper.ts'), '', 3_000);
  }
  return { cli, lib };
}

describe('dist-current', () => {
  it('follows the @atomizer/ dependencies through node_modules', async () => {
    const { cli, lib } = await workspace();
    expect(workspacePackages(cli)).toEqual([cli, lib]);
  });

  it('is current when every source has a built file no older than it (tests and test helpers aside)', async () => {
    const { cli } = await workspace();
    expect(distStaleReason(cli)).toBeUndefined();
  });

  it('is not current when a source of any package is newer than its build', async () => {
    const { cli, lib } = await workspace();
    await utimes(join(lib, 'src/index.ts'), 2_500, 2_500);
    expect(distStaleReason(cli)).toBe(`src/index.ts of ${lib} is newer than its build`);
  });

  it('is not current when a source has no built file (new file, or assets not copied)', async () => {
    const { cli } = await workspace();
    await file(join(cli, 'src/commands/new.ts'));
    expect(distStaleReason(cli)).toBe(`dist/commands/new.js of ${cli} is missing`);
    const other = await workspace();
    await file(join(other.cli, 'src/public/app.js'));
    expect(distStaleReason(other.cli)).toBe(`dist/public/app.js of ${other.cli} is missing`);
  });

  it('takes a package without sources (installed from a registry) as its dist', async () => {
    const { cli, lib } = await workspace();
    const { rm } = await import('node:fs/promises');
    await rm(join(lib, 'src'), { recursive: true });
    expect(distStaleReason(cli)).toBeUndefined();
    await rm(join(lib, 'dist'), { recursive: true });
    expect(distStaleReason(cli)).toBe(`${lib} has neither src/ nor dist/`);
  });
});

describe('bin/atomizer.js', () => {
  it('runs dist/cli.js exactly when the build is current, else the sources through tsx', async () => {
    const coordinator = fileURLToPath(new URL('..', import.meta.url));
    const stale = distStaleReason(coordinator);
    const r = await runCli(['--version'], { ATOMIZER_DEBUG: '1' });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      stale === undefined ? 'atomizer: running dist/cli.js\n' : `atomizer: running src/cli.ts through tsx (dist not current: ${stale})\n`,
    );
  });
});
