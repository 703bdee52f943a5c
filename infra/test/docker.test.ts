// infra/docker: stages, non-root, no credentials, versions that match the repository
// (Node engine, npm packageManager, CUDA/cuDNN of docs/gpu.md, allowed install scripts),
// a build context that lets in only what the image needs, an entrypoint that is the CLI.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIBRARY_ENV, SECRET_NAME, checkEnvNames } from './cli.js';
import { DOCKER_DIR, ROOT, parseDockerfile, readJson, readText, workspaceDirs, words } from './repo.js';

const dockerfile = parseDockerfile(join(DOCKER_DIR, 'Dockerfile'));
const stage = (name: string) => {
  const s = dockerfile.stages.find((x) => x.name === name);
  if (s === undefined) throw new Error(`infra/docker/Dockerfile has no stage '${name}'`);
  return s;
};
const finals = ['cpu', 'gpu'].map(stage);
const rootPkg = readJson<{ packageManager: string; engines: { node: string }; workspaces: string[] }>(join(ROOT, 'package.json'));
const lock = readJson<{ packages: Record<string, { optional?: boolean; hasInstallScript?: boolean; version?: string }> }>(
  join(ROOT, 'package-lock.json'),
);
const ignore = readText(join(DOCKER_DIR, 'Dockerfile.dockerignore'))
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

/** Docker's .dockerignore matching, enough for our patterns: '*' within a segment, '**' across. */
function ignoreRegex(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\/\*\*$/, '\u0001')
    .replace(/\*\*\//g, '\u0000')
    .replace(/\*/g, '[^/]*')
    .replace(/\u0000/g, '(.*/)?')
    .replace(/\u0001/g, '(/.*)?');
  return new RegExp(`^${re}(/.*)?$`);
}
/** Whether a context path reaches the build (last matching pattern wins, '!' re-includes). */
function inContext(path: string): boolean {
  let included = true;
  for (const p of ignore) {
    const negate = p.startsWith('!');
    if (ignoreRegex(negate ? p.slice(1) : p).test(path)) included = negate;
  }
  return included;
}

describe('infra/docker/Dockerfile', () => {
  it('has the cpu and gpu targets, multi-stage (dependencies installed in a separate stage)', () => {
    for (const s of finals) {
      const copiesFrom = s.instructions.filter((i) => i.getKeyword() === 'COPY' && /^COPY\s+--from=/.test(i.getTextContent()));
      expect(copiesFrom.length, s.name).toBeGreaterThan(0);
      expect(
        s.instructions.some((i) => i.getKeyword() === 'RUN' && /npm (ci|install)/.test(i.getArgumentsContent() ?? '')),
        `${s.name} installs nothing itself`,
      ).toBe(false);
    }
  });

  it('runs both images as a non-root numeric user', () => {
    for (const s of finals) {
      const user = s.instructions.filter((i) => i.getKeyword() === 'USER').at(-1);
      expect(user, `${s.name}: no USER`).toBeDefined();
      const uid = words(user as never)[0]?.split(':')[0] ?? '';
      expect(uid, s.name).toMatch(/^[1-9]\d*$/);
    }
  });

  it('bakes in no credential: no ENV or ARG with a secret-like name', () => {
    const all = [...dockerfile.stages.flatMap((s) => s.instructions)];
    for (const name of Object.keys(dockerfile.args)) expect(name).not.toMatch(SECRET_NAME);
    for (const ins of all) {
      if (ins.getKeyword() !== 'ENV' && ins.getKeyword() !== 'ARG') continue;
      for (const w of words(ins)) expect(w.split('=')[0], `line ${ins.getRange().start.line + 1}`).not.toMatch(SECRET_NAME);
    }
  });

  it('sets only environment variables the code or a runtime library reads', async () => {
    const names: string[] = [];
    for (const s of finals) {
      for (const ins of s.instructions.filter((i) => i.getKeyword() === 'ENV')) {
        names.push(...words(ins).map((w) => w.split('=')[0] as string));
      }
    }
    expect(names).toContain('TF_FORCE_GPU_ALLOW_GROWTH');
    expect(await checkEnvNames('Dockerfile ENV', names)).toEqual([]);
    expect(Object.keys(LIBRARY_ENV)).toContain('NVIDIA_VISIBLE_DEVICES');
  });

  it('uses a Node major that package.json engines allows and CI tests (.ci/run), and the npm of packageManager', () => {
    const engineMin = Number(/(\d+)/.exec(rootPkg.engines.node)?.[1]);
    const major = Number(dockerfile.args.NODE_VERSION?.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(engineMin);
    // .ci/run runs the suite on Node 20 and again on the image's major (node-linux-<arch>@<major>).
    expect(readText(join(ROOT, '.ci/run'))).toMatch(new RegExp(`node-linux-\\$node_arch@${major}\\b`));
    expect(`npm@${dockerfile.args.NPM_VERSION}`).toBe(rootPkg.packageManager);
  });

  it('builds the GPU image on CUDA 11.2 + cuDNN 8 (what tfjs-node-gpu 4.x needs, docs/gpu.md)', () => {
    const cuda = stage('gpu').from;
    expect(cuda).toMatch(/^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-/);
    expect(readText(join(ROOT, 'docs/gpu.md'))).toContain(cuda);
  });

  it('allows install scripts only for the TensorFlow package of each image, one the lockfile has', () => {
    const allowed = (name: string) =>
      stage(name)
        .instructions.map((i) => /allow-scripts=([^\s"]+)/.exec(i.getArgumentsContent() ?? '')?.[1])
        .filter((x): x is string => x !== undefined);
    expect(allowed('deps-cpu')).toEqual(['@tensorflow/tfjs-node']);
    expect(allowed('deps-gpu')).toEqual(['@tensorflow/tfjs-node-gpu']);
    for (const pkg of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
      expect(lock.packages[`node_modules/${pkg}`]?.hasInstallScript, pkg).toBe(true);
    }
    for (const [name, pkg] of [
      ['deps-cpu', '@tensorflow/tfjs-node'],
      ['deps-gpu', '@tensorflow/tfjs-node-gpu'],
    ] as const) {
      const install =
        stage(name)
          .instructions.find((i) => /npm ci/.test(i.getArgumentsContent() ?? ''))
          ?.getArgumentsContent() ?? '';
      // no script at install (workspace scripts need sources the stage lacks), then only the allowed one
      expect(install, name).toMatch(/npm ci --omit=dev --ignore-scripts/);
      expect(install, name).toContain(`npm rebuild ${pkg} `);
    }
    const withInstallScripts = workspaceDirs().filter((ws) => {
      const scripts = readJson<{ scripts?: Record<string, string> }>(join(ROOT, ws, 'package.json')).scripts ?? {};
      return ['preinstall', 'install', 'postinstall'].some((k) => k in scripts);
    });
    // a workspace whose install script the images skip must be optional at run time: say so in the Dockerfile
    for (const ws of withInstallScripts) {
      const name = readJson<{ name: string }>(join(ROOT, ws, 'package.json')).name;
      expect(readText(join(DOCKER_DIR, 'Dockerfile')), `${ws} has an install script the images skip`).toContain(name);
    }
  });

  it('has every runtime need in production dependencies: tsx for the bin (installed with --omit=dev)', () => {
    const coordinator = readJson<{ dependencies: Record<string, string>; bin: Record<string, string> }>(
      join(ROOT, 'packages/coordinator/package.json'),
    );
    expect(coordinator.dependencies.tsx).toBeDefined();
    expect(readText(join(ROOT, 'packages/coordinator', coordinator.bin.atomizer as string))).toContain("import.meta.resolve('tsx')");
  });

  it('ships the compiled dist/ of every package, built after the sources are copied (so the bin runs it)', () => {
    const build = stage('build');
    const steps = build.instructions.map((i) => `${i.getKeyword()} ${i.getArgumentsContent() ?? ''}`);
    const copy = steps.findIndex((x) => x === 'COPY packages/ packages/');
    const compile = steps.findIndex((x) => /^RUN npm run build\b/.test(x));
    expect(copy, steps.join('\n')).toBeGreaterThanOrEqual(0);
    expect(compile).toBeGreaterThan(copy);
    for (const s of finals) {
      const copies = s.instructions.filter((i) => i.getKeyword() === 'COPY').map((i) => i.getTextContent().trim());
      expect(copies, s.name).toContain('COPY --from=build /app/packages/ packages/');
      expect(copies, s.name).not.toContain('COPY packages/ packages/');
    }
  });

  it('enters through the atomizer bin of @atomizer/coordinator', () => {
    const coordinator = readJson<{ bin: Record<string, string> }>(join(ROOT, 'packages/coordinator/package.json'));
    const bin = `/app/packages/coordinator/${(coordinator.bin.atomizer as string).replace(/^\.\//, '')}`;
    for (const s of finals) {
      const ep = s.instructions.filter((i) => i.getKeyword() === 'ENTRYPOINT').at(-1);
      expect(ep?.getArgumentsContent(), s.name).toBe(JSON.stringify(['node', bin]).replace(/,/g, ', '));
    }
  });

  it('installs from every workspace manifest (a new workspace package needs no Dockerfile edit)', () => {
    const manifests = stage('manifests-src')
      .instructions.map((i) => i.getArgumentsContent() ?? '')
      .join('\n');
    const app = stage('manifests')
      .instructions.filter((i) => i.getKeyword() === 'COPY')
      .map((i) => words(i));
    for (const ws of workspaceDirs()) {
      if (ws.startsWith('packages/')) {
        expect(manifests, ws).toContain("-regex 'packages/[^/]*/package\\.json'");
        expect(inContext(`${ws}/package.json`), `${ws}/package.json in the build context`).toBe(true);
      } else {
        expect(app, ws).toContainEqual([`${ws}/package.json`, `${ws}/`]);
      }
    }
    expect(rootPkg.workspaces.filter((w) => w !== 'packages/*' && !w.includes('*'))).toEqual(['infra']);
  });

  it('lets into the build context the sources and manifests, and no secrets, data or node_modules', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      'packages/model/package.json',
      'packages/coordinator/bin/atomizer.js',
      'packages/tokenizer/src/index.ts',
      'packages/model/vendor/tfjs-registrations.js',
      'infra/package.json',
    ]) {
      expect(inContext(path), path).toBe(true);
    }
    for (const path of [
      '.env',
      'infra/compose/.env',
      'packages/model/src/x.test.ts',
      'node_modules/yaml/package.json',
      'packages/coordinator/node_modules/x/index.js',
      'packages/model/dist/index.js',
      '.git/config',
      'infra/compose/data/x.tif',
      'packages/protocol/src/.env',
      'key.pem',
      'README.md',
      'packages/tokenizer/test/x.ts',
    ]) {
      expect(inContext(path), path).toBe(false);
    }
  });
});
