#!/usr/bin/env node
// Launcher for the `atomizer` command. It runs the built dist/cli.js with plain Node when
// every workspace package's dist/ is present and no older than its sources (`npm run
// build`; bin/dist-current.js); otherwise (development, right after `npm ci`) it runs the
// TypeScript sources through tsx with the `@atomizer/source` export condition, so
// workspace imports resolve to src/. Either way the same command; ATOMIZER_DEBUG=1 says
// which on stderr. Worker processes started by `launch` and `demo` run the same build.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { distStaleReason } from './dist-current.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const stale = distStaleReason(here('..'));
if (process.env.ATOMIZER_DEBUG) {
  process.stderr.write(
    `atomizer: running ${stale === undefined ? 'dist/cli.js' : `src/cli.ts through tsx (dist not current: ${stale})`}\n`,
  );
}
if (stale === undefined) {
  // In this process: no second Node start.
  await import('../dist/cli.js');
} else {
  const args = ['--conditions=@atomizer/source', '--import', import.meta.resolve('tsx'), here('../src/cli.ts'), ...process.argv.slice(2)];
  // An IPC channel too: if this launcher is killed outright (SIGKILL), the channel closes and
  // the command stops itself cleanly (cli.ts) instead of living on as an orphan.
  const child = spawn(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => child.kill(sig));
  }
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
