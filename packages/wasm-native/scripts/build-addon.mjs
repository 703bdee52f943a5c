// Install script of @atomizer/wasm-native: builds the N-API addon with node-gyp
// against the system OpenBLAS (Debian: apt-get install libopenblas-dev).
// The build runs in a staging folder and the finished binary is renamed into
// build/Release/ in one step: `node-gyp rebuild` in place deletes build/ for the
// seconds it compiles, and a worker process starting then (any `npm install` in
// the workspace reruns this script) silently fell back to the plain wasm kernels,
// whose float32 results differ in the last bits from the native ones - enough to
// break the engine's bit-for-bit agreement between workers.
// Optional by design: when the compiler, the headers or OpenBLAS are missing the
// build fails, this script records why in build/unavailable.txt and exits 0, so
// `npm ci` still succeeds and the model falls back to plain wasm (the reason is
// what `selectBackend` logs). ATOMIZER_NATIVE_BUILD=0 skips the build.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'build', 'unavailable.txt');
const target = join(root, 'build', 'Release', 'atomizer_native.node');
mkdirSync(join(root, 'build'), { recursive: true });
const stage = mkdtempSync(join(root, 'build', '.stage-'));
process.on('exit', () => rmSync(stage, { recursive: true, force: true }));

function unavailable(reason) {
  // no stale binary beside the reason (loadAddon would load it)
  rmSync(target, { force: true });
  writeFileSync(marker, `${reason}\n`);
  console.warn(`[@atomizer/wasm-native] native kernels not built: ${reason} (the model falls back to plain wasm)`);
  process.exit(0);
}

if (process.env.ATOMIZER_NATIVE_BUILD === '0') unavailable('build skipped (ATOMIZER_NATIVE_BUILD=0)');

// node-gyp downloads Node's headers unless told where they are: use the headers
// installed with this Node (e.g. /usr/include/node) when present, so the build
// works offline.
const args = ['rebuild'];
const prefix = join(dirname(process.execPath), '..');
if (
  !process.env.npm_config_nodedir &&
  existsSync(join(prefix, 'include', 'node', 'node_api.h')) &&
  existsSync(join(prefix, 'include', 'node', 'common.gypi'))
) {
  args.push(`--nodedir=${prefix}`);
}

// npm puts its bundled node-gyp on PATH for install scripts; otherwise look beside npm.
const candidates = [['node-gyp', args]];
const npmGyp = join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (existsSync(npmGyp)) candidates.push([process.execPath, [npmGyp, ...args]]);

// The sources go to the staging folder; node-gyp builds there.
cpSync(join(root, 'binding.gyp'), join(stage, 'binding.gyp'));
cpSync(join(root, 'native'), join(stage, 'native'), { recursive: true });

let last = 'node-gyp not found';
for (const [cmd, argv] of candidates) {
  const r = spawnSync(cmd, argv, { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    last = `${cmd}: ${r.error.message}`;
    continue;
  }
  if (r.status === 0) {
    // copy next to the target, then rename over it: a process loading the addon sees the old file or the new one, never none or half of one
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    copyFileSync(join(stage, 'build', 'Release', 'atomizer_native.node'), tmp);
    renameSync(tmp, target);
    rmSync(marker, { force: true });
    console.log('[@atomizer/wasm-native] native kernels built (build/Release/atomizer_native.node)');
    process.exit(0);
  }
  const out = `${r.stdout}\n${r.stderr}`;
  const firstError = out.split('\n').find((l) => /error|cannot find|not found/i.test(l) && !/gyp info/.test(l));
  last = `node-gyp rebuild failed (exit ${r.status})${firstError ? `: ${firstError.trim()}` : ''}`;
  if (/cblas\.h|-lopenblas|openblas/i.test(out)) last += ' - OpenBLAS missing? apt-get install libopenblas-dev';
  break;
}
unavailable(last);
