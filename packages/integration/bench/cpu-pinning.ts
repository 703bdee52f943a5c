import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

// CPU affinity for the benchmarks (issue 13, "the cluster layout in small"): the
// services on one core, a worker on another. Child processes inherit the affinity
// of the process that forks them, so a worker and the compute process it spawns
// stay on the core its parent had when it was started. Linux only (util-linux's
// taskset); every thread of the process is moved (-a).

/** Pin process `pid` (all its threads) to the CPU list `cores` ("0", "1", "0-1"). */
export function pinProcess(pid: number, cores: string): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`taskset -a -p -c ${cores} ${pid} failed (${(err as Error).message}); --pin needs Linux with util-linux's taskset`);
  }
}

/** Refuse a layout the machine cannot give: at least two cores. */
export function checkTwoCores(): void {
  if (cpus().length < 2) throw new Error(`--pin puts the services and the worker on separate cores; this machine has ${cpus().length}`);
}

/** The services' side of the layout: Redis (the cluster's child) and this process, which forks the coordinator, on core 0. */
export function pinServices(redisPid: number | undefined): void {
  if (redisPid === undefined) throw new Error('--pin: the redis-server child has no pid');
  pinProcess(redisPid, '0');
  pinProcess(process.pid, '0');
}

/** Start worker processes from core 1, so they (and the compute processes they fork) inherit it; then back to core 0. */
export async function startOnWorkerCore<T>(start: () => Promise<T>): Promise<T> {
  pinProcess(process.pid, '1');
  try {
    return await start();
  } finally {
    pinProcess(process.pid, '0');
  }
}
