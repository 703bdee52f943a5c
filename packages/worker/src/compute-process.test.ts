import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SINGLE_THREADED_GC, computeExecArgv } from './compute-process.js';

describe('computeExecArgv', () => {
  it("adds the single-threaded GC flag on one core only, keeping the parent's flags and never twice", () => {
    expect(computeExecArgv(['--conditions=x'], 1)).toEqual(['--conditions=x', SINGLE_THREADED_GC]);
    expect(computeExecArgv(['--conditions=x'], 2)).toEqual(['--conditions=x']);
    expect(computeExecArgv([SINGLE_THREADED_GC], 1)).toEqual([SINGLE_THREADED_GC]);
  });

  it('leaves a GC threading flag the operator gave as it is', () => {
    expect(computeExecArgv(['--no-single-threaded-gc'], 1)).toEqual(['--no-single-threaded-gc']);
    expect(computeExecArgv(['--single-threaded'], 1)).toEqual(['--single-threaded']);
    expect(computeExecArgv(['--single_threaded_gc'], 1)).toEqual(['--single_threaded_gc']);
  });

  it('is a flag this Node accepts', () => {
    expect(execFileSync(process.execPath, [SINGLE_THREADED_GC, '-e', 'console.log("ok")'], { encoding: 'utf8' }).trim()).toBe('ok');
  });

  it('sees one core in a process pinned to one of the CPUs this one may use (Linux, util-linux taskset)', () => {
    // "pid N's current affinity list: 0-3,6": the first CPU of the list.
    const list = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' })
      .split(':')
      .pop()!
      .trim();
    const first = /^\d+/.exec(list)![0];
    const out = execFileSync('taskset', ['-c', first, process.execPath, '-e', 'console.log(require("os").availableParallelism())'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('1');
  });
});
