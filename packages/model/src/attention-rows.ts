import * as tf from './tfjs.js';
import { attention, checkAttentionInputs, type AttentionParams } from './attention.js';
import { linear } from './linear.js';
import { matMul } from './matmul.js';

// Single-head attention of a few queries (the L latents) over many keys (the N
// atoms), with every large product laid out with the atoms on the ROWS.
//
// Why: tfjs-backend-wasm 4.22 runs only rank-2 (batch 1) products through
// XNNPACK; every batched product takes a slow generic path (~3 GFLOP/s, worse
// when the right operand is the wide one), and the transposes of big [B,N,L]
// tensors are slow too. Measured (one thread, CPU, best of 20):
// [8,1024,32] x [8,32,32] batched 6.3 ms, the same as 8 rank-2 [1024,32] x
// [32,32] products 1.5 ms; one cross-attention forward at the benchmark shapes
// 22.8 ms batched vs 8.1 ms per sample. So the core works per sample on rank-2
// row blocks: the inputs are [B*N, dh] products split along rows (a contiguous
// split, cheap; its backward is a row concat, cheaper still), and within a
// sample the scores are s^T = k [N,dh] x q^T [dh,L] (atoms on the rows),
// transposed once, softmax on the last axis, and a hand-written backward of
// rank-2 products with N rows or a K = N reduction.
// Caveat measured on wasm 4.22: slicing or splitting a tensor that is a
// reshape of another can hit a slow path (a [1,1024,32] slice 0.12 ms fresh,
// 3.7 ms from a reshaped tensor), so attentionRows feeds the core fresh rank-2
// products rather than reshaped ones.
// Whole-model effect (small, batch 8 x 1024): step 218 -> 137-198 ms CPU.
//
// k and v stay two [tokenDim, dh] projections: packing them into one
// [tokenDim, 2*dh] product was measured slower on wasm 4.22 (one cross-attention
// forward+backward 62.9 -> 66.2 ms CPU): the weight gradient then transposes one
// [B*N, 2*dh] dY, and the wasm Transpose kernel is superlinear in width ([8192,64]
// 7.9 ms vs 2 x 1.8 ms for two [8192,32]), and the packed tensor needs two
// last-axis slices forward and a last-axis concat backward (0.6 + 0.6 + 1.8 ms).
//
// Same mathematics as attention.ts with one head (docs/model.md section 3:
// softmax(q k^T / sqrt(dh) + mask bias) v); tested equal, values and gradients.

type Core = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;
type ProjectedCore = (q: tf.Tensor, x: tf.Tensor, wk: tf.Tensor, wv: tf.Tensor) => tf.Tensor;

/** Forward of one sample: softmax(q k^T + bias) v with the atoms on the rows of the score product. */
function sampleForward(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  bias: tf.Tensor2D | undefined,
): { p: tf.Tensor2D; out: tf.Tensor2D } {
  const sT = tf.matMul(k, tf.transpose(q)); // [N,L]: N rows
  let s = tf.transpose(sT) as tf.Tensor2D;
  if (bias !== undefined) s = tf.add(s, bias) as tf.Tensor2D;
  const p = tf.softmax(s) as tf.Tensor2D; // [L,N]
  return { p, out: tf.matMul(p, v) }; // [L,dv]: a K = N reduction
}

/**
 * Backward of one sample: dq [L,dh], dk [N,dh], dv [N,dv]; with `transposed`,
 * also dk^T [dh,N] and dv^T [dv,N] as their own small products (q^T dS and
 * dOut^T P), which spares the weight gradients a transpose of [B*N, dh].
 */
function sampleBackward(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, p: tf.Tensor2D, dout: tf.Tensor2D, transposed: boolean) {
  // dP = dOut v^T, computed as (v dOut^T)^T: N rows.
  const doutT = tf.transpose(dout);
  const dp = tf.transpose(tf.matMul(v, doutT));
  // Softmax backward on the last axis: dS = P * (dP - sum(dP * P)).
  const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))) as tf.Tensor2D;
  return {
    dq: tf.matMul(ds, k), // [L,dh]: K = N reduction
    dk: tf.matMul(tf.transpose(ds), q), // [N,dh]: N rows
    dv: tf.matMul(tf.transpose(p), dout), // [N,dv]: N rows
    dkT: transposed ? tf.matMul(tf.transpose(q), ds) : undefined, // [dh,N]
    dvT: transposed ? tf.matMul(doutT, p) : undefined, // [dv,N]
  };
}

/**
 * The core over rank-2 row blocks: q [B*L, dh], k [B*N, dh], v [B*N, dv] ->
 * [B*L, dv], sample b owning rows [b*L, (b+1)*L) and [b*N, (b+1)*N). `biases`
 * holds one [1, N] key bias per sample (or none).
 */
function perSampleCore(B: number, biases: readonly tf.Tensor2D[] | undefined): Core {
  return tf.customGrad((qi, ki, vi, save) => {
    const qs = tf.split(qi as tf.Tensor2D, B, 0) as tf.Tensor2D[];
    const ks = tf.split(ki as tf.Tensor2D, B, 0) as tf.Tensor2D[];
    const vs = tf.split(vi as tf.Tensor2D, B, 0) as tf.Tensor2D[];
    const f = qs.map((q, b) => sampleForward(q, ks[b]!, vs[b]!, biases?.[b]));
    (save as tf.GradSaveFunc)([...qs, ...ks, ...vs, ...f.map((r) => r.p)]);
    return {
      value: tf.concat(
        f.map((r) => r.out),
        0,
      ),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const at = (part: number, b: number) => saved[part * B + b] as tf.Tensor2D;
        const douts = tf.split(dy as tf.Tensor2D, B, 0) as tf.Tensor2D[];
        const g = douts.map((d, b) => sampleBackward(at(0, b), at(1, b), at(2, b), at(3, b), d, false));
        return [
          tf.concat(
            g.map((r) => r.dq),
            0,
          ),
          tf.concat(
            g.map((r) => r.dk),
            0,
          ),
          tf.concat(
            g.map((r) => r.dv),
            0,
          ),
        ];
      },
    };
  }) as Core;
}

/**
 * perSampleCore with the k and v projections of the tokens inside it: q [B*L, dh],
 * x [B*N, D] (tokens), wk [D, dh], wv [D, dv] -> [B*L, dv]. Why: its backward
 * gets dk^T and dv^T per sample from small products (no [B*N, dh] transposes)
 * and computes both weight gradients with ONE product [dk^T; dv^T] x (tokens), so
 * the wasm backend packs the [B*N, D] token matrix once instead of twice.
 */
function projectedCore(B: number, biases: readonly tf.Tensor2D[] | undefined): ProjectedCore {
  return tf.customGrad((qi, xi, wki, wvi, save) => {
    const x = xi as tf.Tensor2D;
    const wk = wki as tf.Tensor2D;
    const wv = wvi as tf.Tensor2D;
    const qs = tf.split(qi as tf.Tensor2D, B, 0) as tf.Tensor2D[];
    const ks = tf.split(tf.matMul(x, wk), B, 0) as tf.Tensor2D[];
    const vs = tf.split(tf.matMul(x, wv), B, 0) as tf.Tensor2D[];
    const f = qs.map((q, b) => sampleForward(q, ks[b]!, vs[b]!, biases?.[b]));
    (save as tf.GradSaveFunc)([x, wk, wv, ...qs, ...ks, ...vs, ...f.map((r) => r.p)]);
    return {
      value: tf.concat(
        f.map((r) => r.out),
        0,
      ),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, swk, swv] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const at = (part: number, b: number) => saved[3 + part * B + b] as tf.Tensor2D;
        const douts = tf.split(dy as tf.Tensor2D, B, 0) as tf.Tensor2D[];
        const g = douts.map((d, b) => sampleBackward(at(0, b), at(1, b), at(2, b), at(3, b), d, true));
        const dh = swk.shape[1];
        const dK = tf.concat(
          g.map((r) => r.dk),
          0,
        ); // [B*N, dh]
        const dV = tf.concat(
          g.map((r) => r.dv),
          0,
        ); // [B*N, dv]
        // [dk^T ; dv^T] [dh+dv, B*N] x tokens [B*N, D] -> [dh+dv, D]: one packing of the tokens.
        const dKVt = tf.concat(
          [
            tf.concat(
              g.map((r) => r.dkT!),
              1,
            ),
            tf.concat(
              g.map((r) => r.dvT!),
              1,
            ),
          ],
          0,
        );
        const [dWkT, dWvT] = tf.split(tf.matMul(dKVt, sx), [dh, swv.shape[1]], 0) as [tf.Tensor2D, tf.Tensor2D];
        const dX = tf.add(tf.matMul(dK, tf.transpose(swk)), tf.matMul(dV, tf.transpose(swv)));
        return [
          tf.concat(
            g.map((r) => r.dq),
            0,
          ),
          dX,
          tf.transpose(dWkT),
          tf.transpose(dWvT),
        ];
      },
    };
  }) as ProjectedCore;
}

/** bias [B,1,N] -> B fresh [1,N] rows (null-free), or undefined. */
function biasRows(bias: tf.Tensor3D | undefined): tf.Tensor2D[] | undefined {
  if (bias === undefined) return undefined;
  const [B, , N] = bias.shape;
  // A copy first: slicing a reshaped view is a slow path on wasm 4.22.
  return tf.split(tf.add(tf.reshape(bias, [B, N]), 0) as tf.Tensor2D, B, 0) as tf.Tensor2D[];
}

/** Rank-2 row blocks of one-head attention (see perSampleCore); bias [B,1,N] or none. */
export function attentionCoreRowBlocks(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, B: number, bias?: tf.Tensor3D): tf.Tensor2D {
  const [BL, dh] = q.shape;
  const [BN] = k.shape;
  if (BL % B !== 0 || BN % B !== 0 || k.shape[1] !== dh || v.shape[0] !== BN) {
    throw new Error(
      `attentionCoreRowBlocks: shapes q [${q.shape}], k [${k.shape}], v [${v.shape}] for ${B} samples; expected q [B*L,dh], k [B*N,dh], v [B*N,dv]`,
    );
  }
  if (bias !== undefined && (bias.shape[0] !== B || bias.shape[1] !== 1 || bias.shape[2] !== BN / B)) {
    throw new Error(`attentionCoreRowBlocks: mask bias has shape [${bias.shape}], expected [${B}, 1, ${BN / B}]`);
  }
  return tf.tidy(() => perSampleCore(B, biasRows(bias))(q, k, v) as tf.Tensor2D);
}

/**
 * softmax(q k^T + bias) v for one head: q [B,L,dh] (already scaled), k [B,N,dh]
 * and v [B,N,dv], bias [B,1,N] (0 or a large negative for padded keys) -> [B,L,dv].
 */
export function attentionCoreRows(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, bias?: tf.Tensor3D): tf.Tensor3D {
  const [B, L, dh] = q.shape;
  const N = k.shape[1];
  if (k.shape[0] !== B || v.shape[0] !== B || k.shape[2] !== dh || v.shape[1] !== N) {
    throw new Error(
      `attentionCoreRows: shapes q [${q.shape}], k [${k.shape}], v [${v.shape}]; expected q [B,L,dh], k [B,N,dh], v [B,N,dv]`,
    );
  }
  if (bias !== undefined && (bias.shape[0] !== B || bias.shape[1] !== 1 || bias.shape[2] !== N)) {
    throw new Error(`attentionCoreRows: mask bias has shape [${bias.shape}], expected [${B}, 1, ${N}]`);
  }
  const dv = v.shape[2];
  return tf.tidy(() => {
    const flat = (t: tf.Tensor3D) => tf.reshape(t, [t.shape[0] * t.shape[1], t.shape[2]]) as tf.Tensor2D;
    return tf.reshape(attentionCoreRowBlocks(flat(q), flat(k), flat(v), B, bias), [B, L, dv]) as tf.Tensor3D;
  });
}

/**
 * Drop-in for attention() (same parameters, same result): one head goes
 * through attentionCoreRows, several heads fall back to attention().
 */
export function attentionRows(
  xq: tf.Tensor3D,
  xkv: tf.Tensor3D,
  p: AttentionParams,
  heads: number,
  headDim: number,
  bias?: tf.Tensor3D,
): tf.Tensor3D {
  if (heads !== 1) return attention(xq, xkv, p, heads, headDim, bias);
  checkAttentionInputs('attentionRows', xq, xkv, p, heads, headDim, bias);
  const [B, L, dq] = xq.shape;
  const [, N, dkv] = xkv.shape;
  return tf.tidy(() => {
    const x2 = tf.reshape(xkv, [B * N, dkv]) as tf.Tensor2D;
    const q = tf.mul(matMul(tf.reshape(xq, [B * L, dq]) as tf.Tensor2D, p.wq), 1 / Math.sqrt(headDim)) as tf.Tensor2D;
    const o = projectedCore(B, biasRows(bias))(q, x2, p.wk, p.wv) as tf.Tensor2D;
    return linear(tf.reshape(o, [B, L, headDim]), p.wo, p.bo) as tf.Tensor3D;
  });
}
