import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Builds and loads the N-API OpenBLAS addon (native/sgemm.c) into `dir` with gcc
// against Debian's libopenblas0-pthread (no -dev package needed) and Node's
// headers in /usr/include/node. Benchmarks only.

export interface NativeSgemm {
  /** c[m,n] = op(a) op(b), row-major; op(a) is [m,k] (a stored [k,m] when transA), op(b) is [k,n] (b stored [n,k] when transB). */
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, k: number, n: number, transA: boolean, transB: boolean): void;
}

export const BLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';

export function buildAddon(dir: string): NativeSgemm {
  const src = join(dirname(fileURLToPath(import.meta.url)), 'sgemm.c');
  const out = join(dir, 'sgemm.node');
  execFileSync('gcc', [
    '-O2', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=sgemm', '-I/usr/include/node', src, '-o', out,
    `-L${BLAS_DIR}`, '-l:libopenblas.so.0', `-Wl,-rpath,${BLAS_DIR}`,
  ]);
  return createRequire(import.meta.url)(out) as NativeSgemm;
}
