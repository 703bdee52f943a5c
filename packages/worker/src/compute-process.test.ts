import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SINGLE_THREADED_GC, computeExecArgv } from './compute-process.js';

describe('computeExecArgv', () => {
  it("adds the single-threaded GC flag on one core only, keeping the parent's flags and never twice", () => {
    expect(computeExecArgv(['--conditions=x'], 1)).toEqual(['--conditions=x', SINGLE_THREADED_GC]);
    expect(computeExecArgv(['--conditions=x'], 2)).toEqual(['--conditions=x']);
    expect(computeExecArgv([SINGLE_THREADED_GC], 1)).toEqual([SINGLE_THREADED_GC]);
  });

  it('is a flag this Node accepts, and one core is what a process pinned to one core sees', () => {
    const out = execFileSync(
      'taskset',
      ['-c', '0', process.execPath, SINGLE_THREADED_GC, '-e', 'console.log(require("os").availableParallelism())'],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('1');
  });
});
