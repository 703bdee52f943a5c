import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Test helper: run the real `atomizer` launcher (bin/atomizer.js) as a child
// process and collect its output, the way a user runs it.

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = fileURLToPath(new URL('../../bin/atomizer.js', import.meta.url));

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runNode([BIN, ...args], env);
}

/** Run `node <args>` (this Node) and collect its output. */
export function runNode(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}
