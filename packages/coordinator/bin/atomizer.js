#!/usr/bin/env node
// Launcher for the `atomizer` command. The packages are TypeScript run from
// source (no build step needed): re-exec Node with tsx and the
// `@atomizer/source` export condition so workspace imports resolve to src/.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = [
  '--conditions=@atomizer/source',
  '--import',
  import.meta.resolve('tsx'),
  here('../src/cli.ts'),
  ...process.argv.slice(2),
];

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
