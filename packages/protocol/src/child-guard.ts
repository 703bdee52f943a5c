import { spawn, type ChildProcess } from 'node:child_process';

// A service this process starts (redis-server for the demo and the tests) must not
// outlive it, even when this process is killed outright (SIGKILL runs no handler).
// A tiny `sh` watchdog reads a pipe whose only writer is this process: when this
// process ends, however it ends, the kernel closes the pipe, `read` returns, and the
// watchdog stops the child (SIGTERM, SIGKILL after a grace) and removes its folder.

const WATCHDOG = [
  'read _ignored',
  'kill -TERM "$1" 2>/dev/null',
  'i=0',
  'while kill -0 "$1" 2>/dev/null && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i+1)); done',
  'kill -KILL "$1" 2>/dev/null',
  '[ -n "$3" ] && rm -rf "$3"',
  'exit 0',
].join('\n');

export interface ChildGuard {
  /** The watchdog's own process (tests look at it). */
  readonly watchdog: ChildProcess;
  /** Stop watching (the child ended normally): the watchdog exits without touching anything. */
  release(): void;
}

/**
 * Ties `child`'s life to this process: if this process ends before `release()`,
 * the child gets SIGTERM, then SIGKILL after `graceMs`, and `removeDir` (if given)
 * is deleted. Released by itself when the child exits. Never keeps this process alive.
 */
export function killWithParent(child: ChildProcess, opts: { graceMs?: number; removeDir?: string } = {}): ChildGuard {
  if (child.pid === undefined) throw new Error('killWithParent: the child has no pid (it failed to start)');
  const ticks = Math.max(1, Math.round((opts.graceMs ?? 2000) / 100));
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'atomizer-watchdog', String(child.pid), String(ticks), opts.removeDir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    // SIGKILL: the watchdog must not run its kill line on a pid that may be reused.
    watchdog.kill('SIGKILL');
  };
  child.once('exit', release);
  return { watchdog, release };
}

/** Whether process `pid` exists (one owned by another user counts: EPERM). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}
