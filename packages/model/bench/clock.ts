// Wall time and CPU time of a piece of work. The benchmark machines are shared
// (2 cores, other jobs running): wall time then counts the time this process
// waited for a core, CPU time (user + system of this process) does not, so it
// is the steadier figure of a single-threaded computation. On a quiet machine
// the two agree within a few percent (Node's GC/compiler threads add a little CPU).

export interface Elapsed {
  wallMs: number;
  cpuMs: number;
}

export function timed(fn: () => void): Elapsed {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}
