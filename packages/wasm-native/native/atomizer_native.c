// N-API addon: float32 CPU kernels for TensorFlow.js's wasm backend, working in
// place on the wasm heap. Every entry point takes the heap (a Uint8Array or
// ArrayBuffer over the wasm memory, fetched by the caller after its last
// allocation, since heap growth replaces the buffer) and byte offsets of the
// operands, and checks that each operand lies inside the heap before touching it.
//
//   gemm(heap, aOff, bOff, cOff, batch, aStride, bStride, m, n, k, transA, transB)
//       c[i] = op(a[i]) op(b[i]) for i < batch, row-major; op(a) is [m,k] (stored
//       [k,m] when transA), op(b) is [k,n] (stored [n,k] when transB); a[i] starts
//       at aOff + 4*i*aStride (aStride 0 broadcasts), c is dense [batch,m,n].
//   transpose(heap, xOff, yOff, batch, rows, cols)   y[b][c][r] = x[b][r][c]
//   permuteRows(heap, xOff, yOff, inner, rank, shape[], permStrides[])
//       y = x permuted with the last axis kept (contiguous runs of `inner` floats)
//   reduce(heap, xOff, yOff, outer, red, inner, op)  y[o][i] = op over r of x[o][r][i]
//       op: 0 sum, 1 mean, 2 max, 3 min
//   binary(heap, op, aOff, bOff, yOff, d0..d3, as0..as3, bs0..bs3)
//       y[i0..i3] = a[sum ik*ask] (op) b[sum ik*bsk]; y dense [d0,d1,d2,d3];
//       op: 0 add, 1 sub, 2 mul, 3 div, 4 squared difference, 5 maximum, 6 minimum
//   unary(heap, op, xOff, yOff, n)  y = f(x); op: 0 exp, 1 erf; 2 and 3 the same as plain scalar
//       loops (expf per element), for the tests of the four-lane expf
//   layerNorm(heap, xOff, gOff, bOff, yOff, xhatOff, rOff, rows, cols, epsBits)
//       per row of x [rows, cols]: r = 1/sqrt(var + eps) (biased variance), xhat =
//       (x - mean) r, y = xhat gamma + beta; eps passed as its float32 bit pattern
//   layerNormGrad(heap, dyOff, xhatOff, rOff, gOff, dxOff, dgOff, dbOff, rows, cols)
//       g = dy gamma; dx = r (g - mean(g) - xhat mean(g xhat)); dgamma = sum of dy xhat
//       over rows, dbeta = sum of dy over rows
//   gegluGate(heap, xOff, bOff, yOff, cdfOff, rows, half)
//       the GEGLU gate on a product without its bias: per row of x [rows, 2*half], with b
//       [2*half], a = x[:half] + b[:half], g = x[half:] + b[half:], cdf = (erf(g sqrt(1/2)) + 1)
//       * 0.5, y = a (g cdf); y and cdf are [rows, half]. The float32 operations of the
//       unfused chain (bias Add, SplitV, Mul, Erf, Add, Mul, Mul, Mul) in its order: same bits.
//   gegluGateGrad(heap, dyOff, xOff, bOff, cdfOff, dxOff, dbOff, rows, half)
//       pdf = exp((g g) -0.5) (1/sqrt(2 pi)), da = dy (g cdf), dg = (dy a) (cdf + g pdf),
//       dx = [da | dg] per row, db = the column sums of dx, row after row from the first
//       (the unfused chain's Square, Mul, Exp, ..., Concat and Sum: same bits)
//   adam(params, grads, m, v, from, to, beta1, beta2, eps, stepSize, bc2Sqrt, l2, keep)
//       one Adam step on elements [from, to) of four Float32Arrays (not the heap), each
//       element in float64 and stored as float32: the operations of applyAdamRange
//       (packages/model/src/optimizer.ts) in its order, so the same bits
//   sumSquares(x, from, to, init) -> init + the sum of x[i]^2 over [from, to) of a
//       Float32Array (not the heap), in float64, one element after the other (the
//       model's globalNorm loop: the same bits)
//   readSquares(heap, srcOff, dst, dstIndex, n, init) -> init + the sum of x[i]^2 over the
//       n floats at srcOff of the heap, which it also copies to dst[dstIndex..] (a
//       Float32Array, not the heap): the gradient read-back and the global norm's float64
//       sum (index order, so sumSquares' bits) in one pass
//   info() -> { config, corename, threads }, setThreads(n)
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#define MAX_ARGS 20

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("avx2", "default")))
#else
#define HOT
#endif

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, "ERR_ATOMIZER_NATIVE", msg);
  return NULL;
}

typedef struct {
  uint8_t *base;
  size_t bytes;
  int64_t v[MAX_ARGS];
} Args;

// Reads the heap (arg `heapIndex`) and every other argument as an integer.
static int read_args(napi_env env, napi_callback_info info, size_t expected, size_t heapIndex, Args *out, const char *name) {
  size_t argc = MAX_ARGS + 1;
  napi_value argv[MAX_ARGS + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != expected) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %zu arguments expected, got %zu", name, expected, argc);
    throw_error(env, msg);
    return 0;
  }
  bool is_typed = false, is_ab = false;
  napi_is_typedarray(env, argv[heapIndex], &is_typed);
  if (is_typed) {
    napi_typedarray_type type;
    size_t length, offset;
    void *data;
    napi_value ab;
    napi_get_typedarray_info(env, argv[heapIndex], &type, &length, &data, &ab, &offset);
    if (type != napi_uint8_array) {
      throw_error(env, "the heap must be a Uint8Array or an ArrayBuffer");
      return 0;
    }
    out->base = (uint8_t *)data;
    out->bytes = length;
  } else {
    napi_is_arraybuffer(env, argv[heapIndex], &is_ab);
    if (!is_ab) {
      throw_error(env, "the heap must be a Uint8Array or an ArrayBuffer");
      return 0;
    }
    void *data;
    napi_get_arraybuffer_info(env, argv[heapIndex], &data, &out->bytes);
    out->base = (uint8_t *)data;
  }
  size_t j = 0;
  for (size_t i = 0; i < argc; i++) {
    if (i == heapIndex) continue;
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    if (t == napi_boolean) {
      bool b;
      napi_get_value_bool(env, argv[i], &b);
      out->v[j++] = b ? 1 : 0;
    } else if (t == napi_number) {
      napi_get_value_int64(env, argv[i], &out->v[j++]);
    } else {
      char msg[160];
      snprintf(msg, sizeof msg, "%s: argument %zu must be a number", name, i);
      throw_error(env, msg);
      return 0;
    }
  }
  return 1;
}

// A float32 operand of `count` elements at byte offset `off`, or NULL (with a JS error) if outside the heap.
static float *operand(napi_env env, const Args *a, int64_t off, int64_t count, const char *what) {
  if (off < 0 || count < 0 || (off & 3) != 0 || (uint64_t)off + 4 * (uint64_t)count > a->bytes) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s lies outside the heap (offset %lld, %lld floats, heap %zu bytes)", what, (long long)off,
             (long long)count, a->bytes);
    throw_error(env, msg);
    return NULL;
  }
  return (float *)(a->base + off);
}

static napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 12, 0, &a, "gemm")) return NULL;
  int64_t aOff = a.v[0], bOff = a.v[1], cOff = a.v[2], batch = a.v[3], aStride = a.v[4], bStride = a.v[5];
  int64_t m = a.v[6], n = a.v[7], k = a.v[8];
  int ta = a.v[9] != 0, tb = a.v[10] != 0;
  if (batch < 0 || m < 0 || n < 0 || k < 0 || aStride < 0 || bStride < 0 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
    return throw_error(env, "gemm: negative or too large dimensions");
  if (batch == 0 || m == 0 || n == 0) return NULL;
  float *A = operand(env, &a, aOff, (batch - 1) * aStride + m * k, "gemm: a");
  if (!A) return NULL;
  float *B = operand(env, &a, bOff, (batch - 1) * bStride + k * n, "gemm: b");
  if (!B) return NULL;
  float *C = operand(env, &a, cOff, batch * m * n, "gemm: c");
  if (!C) return NULL;
  if (k == 0) {
    memset(C, 0, (size_t)(batch * m * n) * sizeof(float));
    return NULL;
  }
  int lda = (int)(ta ? m : k), ldb = (int)(tb ? k : n);
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                A + i * aStride, lda, B + i * bStride, ldb, 0.0f, C + i * m * n, (int)n);
  }
  return NULL;
}

HOT static void transpose_block(const float *x, float *y, int64_t rows, int64_t cols) {
  const int64_t T = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += T) {
    int64_t r1 = r0 + T < rows ? r0 + T : rows;
    for (int64_t c0 = 0; c0 < cols; c0 += T) {
      int64_t c1 = c0 + T < cols ? c0 + T : cols;
      for (int64_t c = c0; c < c1; c++)
        for (int64_t r = r0; r < r1; r++) y[c * rows + r] = x[r * cols + c];
    }
  }
}

static napi_value Transpose(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 6, 0, &a, "transpose")) return NULL;
  int64_t batch = a.v[2], rows = a.v[3], cols = a.v[4];
  if (batch < 0 || rows < 0 || cols < 0) return throw_error(env, "transpose: negative dimensions");
  int64_t size = batch * rows * cols;
  if (size == 0) return NULL;
  float *x = operand(env, &a, a.v[0], size, "transpose: x");
  if (!x) return NULL;
  float *y = operand(env, &a, a.v[1], size, "transpose: y");
  if (!y) return NULL;
  for (int64_t b = 0; b < batch; b++) transpose_block(x + b * rows * cols, y + b * rows * cols, rows, cols);
  return NULL;
}

// y (dense, output order) <- x read with permuted strides; last axis contiguous runs of `inner` floats.
// Arguments after the heap: xOff, yOff, inner, rank, then rank output dims, then rank input strides (in floats).
#define MAX_RANK 6
static napi_value PermuteRows(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, NULL, NULL, NULL);
  if (argc < 5) return throw_error(env, "permuteRows: at least 5 arguments expected");
  Args a;
  if (!read_args(env, info, argc, 0, &a, "permuteRows")) return NULL;
  int64_t inner = a.v[2], rank = a.v[3];
  if (rank < 1 || rank > MAX_RANK || (size_t)(4 + 2 * rank) != argc - 1 || inner < 0)
    return throw_error(env, "permuteRows: rank must be 1-6 with rank dims and rank strides");
  int64_t dims[MAX_RANK], strides[MAX_RANK], rows = 1, maxIn = 0;
  for (int64_t d = 0; d < rank; d++) {
    dims[d] = a.v[4 + d];
    strides[d] = a.v[4 + rank + d];
    if (dims[d] < 0 || strides[d] < 0) return throw_error(env, "permuteRows: negative dims or strides");
    rows *= dims[d];
    if (dims[d] > 0) maxIn += (dims[d] - 1) * strides[d];
  }
  if (rows == 0 || inner == 0) return NULL;
  float *x = operand(env, &a, a.v[0], maxIn + inner, "permuteRows: x");
  if (!x) return NULL;
  float *y = operand(env, &a, a.v[1], rows * inner, "permuteRows: y");
  if (!y) return NULL;
  int64_t idx[MAX_RANK] = {0};
  int64_t src = 0;
  for (int64_t r = 0; r < rows; r++) {
    memcpy(y + r * inner, x + src, (size_t)inner * sizeof(float));
    for (int64_t d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < dims[d]) break;
      src -= idx[d] * strides[d];
      idx[d] = 0;
    }
  }
  return NULL;
}

HOT static void reduce_rows(const float *x, float *y, int64_t outer, int64_t red, int64_t inner, int op) {
  for (int64_t o = 0; o < outer; o++) {
    const float *xo = x + o * red * inner;
    float *yo = y + o * inner;
    if (inner == 1) {
      // one reduction over a contiguous run: 8 partial accumulators (vectorisable)
      float acc[8];
      float init = op <= 1 ? 0.0f : xo[0];
      for (int j = 0; j < 8; j++) acc[j] = init;
      int64_t r = 0;
      if (op <= 1) {
        for (; r + 8 <= red; r += 8)
          for (int j = 0; j < 8; j++) acc[j] += xo[r + j];
        float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; r < red; r++) s += xo[r];
        yo[0] = op == 1 ? s / (float)red : s;
      } else if (op == 2) {
        for (; r + 8 <= red; r += 8)
          for (int j = 0; j < 8; j++) acc[j] = xo[r + j] > acc[j] ? xo[r + j] : acc[j];
        float s = acc[0];
        for (int j = 1; j < 8; j++) s = acc[j] > s ? acc[j] : s;
        for (; r < red; r++) s = xo[r] > s ? xo[r] : s;
        yo[0] = s;
      } else {
        for (; r + 8 <= red; r += 8)
          for (int j = 0; j < 8; j++) acc[j] = xo[r + j] < acc[j] ? xo[r + j] : acc[j];
        float s = acc[0];
        for (int j = 1; j < 8; j++) s = acc[j] < s ? acc[j] : s;
        for (; r < red; r++) s = xo[r] < s ? xo[r] : s;
        yo[0] = s;
      }
      continue;
    }
    memcpy(yo, xo, (size_t)inner * sizeof(float));
    for (int64_t r = 1; r < red; r++) {
      const float *xr = xo + r * inner;
      if (op <= 1)
        for (int64_t i = 0; i < inner; i++) yo[i] += xr[i];
      else if (op == 2)
        for (int64_t i = 0; i < inner; i++) yo[i] = xr[i] > yo[i] ? xr[i] : yo[i];
      else
        for (int64_t i = 0; i < inner; i++) yo[i] = xr[i] < yo[i] ? xr[i] : yo[i];
    }
    if (op == 1) {
      float inv = 1.0f / (float)red;
      for (int64_t i = 0; i < inner; i++) yo[i] *= inv;
    }
  }
}

static napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 7, 0, &a, "reduce")) return NULL;
  int64_t outer = a.v[2], red = a.v[3], inner = a.v[4], op = a.v[5];
  if (outer < 0 || red < 1 || inner < 0 || op < 0 || op > 3) return throw_error(env, "reduce: bad dimensions or op");
  if (outer * inner == 0) return NULL;
  float *x = operand(env, &a, a.v[0], outer * red * inner, "reduce: x");
  if (!x) return NULL;
  float *y = operand(env, &a, a.v[1], outer * inner, "reduce: y");
  if (!y) return NULL;
  reduce_rows(x, y, outer, red, inner, (int)op);
  return NULL;
}

#define OP_LOOP(EXPR)                                                                                                   \
  do {                                                                                                                  \
    if (s1 == 1 && t1 == 1)                                                                                             \
      for (int64_t i = 0; i < n; i++) {                                                                                 \
        float u = A[i], v = B[i];                                                                                       \
        Y[i] = (EXPR);                                                                                                  \
      }                                                                                                                 \
    else if (s1 == 1)                                                                                                   \
      for (int64_t i = 0; i < n; i++) {                                                                                 \
        float u = A[i], v = B[0];                                                                                       \
        Y[i] = (EXPR);                                                                                                  \
      }                                                                                                                 \
    else if (t1 == 1)                                                                                                   \
      for (int64_t i = 0; i < n; i++) {                                                                                 \
        float u = A[0], v = B[i];                                                                                       \
        Y[i] = (EXPR);                                                                                                  \
      }                                                                                                                 \
    else {                                                                                                              \
      float u = A[0], v = B[0], r = (EXPR);                                                                             \
      for (int64_t i = 0; i < n; i++) Y[i] = r;                                                                         \
    }                                                                                                                   \
  } while (0)

// One innermost run of n outputs; s1, t1 (0 or 1) are a's and b's innermost strides.
HOT static void binary_run(int op, const float *A, const float *B, float *Y, int64_t n, int64_t s1, int64_t t1) {
  switch (op) {
    case 0: OP_LOOP(u + v); break;
    case 1: OP_LOOP(u - v); break;
    case 2: OP_LOOP(u * v); break;
    case 3: OP_LOOP(u / v); break;
    case 4: OP_LOOP((u - v) * (u - v)); break;
    case 5: OP_LOOP(u > v || isnan(u) ? u : v); break;
    default: OP_LOOP(u < v || isnan(u) ? u : v); break;
  }
}

static napi_value Binary(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 17, 0, &a, "binary")) return NULL;
  int64_t op = a.v[0], aOff = a.v[1], bOff = a.v[2], yOff = a.v[3];
  const int64_t *d = &a.v[4], *s = &a.v[8], *t = &a.v[12];
  if (op < 0 || op > 6) return throw_error(env, "binary: unknown op");
  int64_t size = 1, aMax = 0, bMax = 0;
  for (int i = 0; i < 4; i++) {
    if (d[i] < 0 || s[i] < 0 || t[i] < 0) return throw_error(env, "binary: negative dims or strides");
    size *= d[i];
    if (d[i] > 0) {
      aMax += (d[i] - 1) * s[i];
      bMax += (d[i] - 1) * t[i];
    }
  }
  if (size == 0) return NULL;
  if (s[3] > 1 || t[3] > 1) return throw_error(env, "binary: innermost strides must be 0 or 1");
  float *A = operand(env, &a, aOff, aMax + 1, "binary: a");
  if (!A) return NULL;
  float *B = operand(env, &a, bOff, bMax + 1, "binary: b");
  if (!B) return NULL;
  float *Y = operand(env, &a, yOff, size, "binary: y");
  if (!Y) return NULL;
  float *y = Y;
  for (int64_t i0 = 0; i0 < d[0]; i0++)
    for (int64_t i1 = 0; i1 < d[1]; i1++)
      for (int64_t i2 = 0; i2 < d[2]; i2++) {
        binary_run((int)op, A + i0 * s[0] + i1 * s[1] + i2 * s[2], B + i0 * t[0] + i1 * t[1] + i2 * t[2], y, d[3], s[3], t[3]);
        y += d[3];
      }
  return NULL;
}

// ---- expf, four at a time ----------------------------------------------------------------
// glibc's expf (since 2.28 the table-and-cubic method of Arm's optimized-routines: exp(x) =
// 2^(k/32) 2^(r/32) with k = round(32 x / ln 2), a cubic in r, all in double, one rounding
// to float) is a scalar call, 4-5 ns per element here, and the GELU of the feed-forwards
// calls it for every hidden activation. The same double operations on four lanes (AVX2)
// give the same bits: checked against expf for every float with |x| < 88 on this machine,
// and by the tests (unary ops 2 and 3 are the scalar loops, for comparison). |x| >= 88,
// infinities and NaN take expf itself, as does a CPU without AVX2.

static uint64_t exp_tab[32]; // the bits of 2^(i/32), minus i << 47
static int exp_lanes;        // AVX2 is there
static const double EXP_INVLN2N = 0x1.71547652b82fep+0 * 32, EXP_SHIFT = 0x1.8p+52;
static const double EXP_C0 = 0x1.c6af84b912394p-5 / 32 / 32 / 32, EXP_C1 = 0x1.ebfce50fac4f3p-3 / 32 / 32,
                    EXP_C2 = 0x1.62e42ff0c52d6p-1 / 32;

static void exp_init(void) {
  for (int i = 0; i < 32; i++) {
    double v = (double)exp2l((long double)i / 32);
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    exp_tab[i] = u - ((uint64_t)i << 47);
  }
#if defined(__x86_64__) && defined(__GNUC__)
  exp_lanes = __builtin_cpu_supports("avx2");
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void exp_avx2(const float *x, float *y, int64_t n) {
  const __m256d inv = _mm256_set1_pd(EXP_INVLN2N), shift = _mm256_set1_pd(EXP_SHIFT), c0 = _mm256_set1_pd(EXP_C0),
                c1 = _mm256_set1_pd(EXP_C1), c2 = _mm256_set1_pd(EXP_C2), one = _mm256_set1_pd(1.0);
  const __m256i low5 = _mm256_set1_epi64x(31);
  const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)), limit = _mm_set1_ps(88.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m128 xf = _mm_loadu_ps(x + i);
    __m256d xd = _mm256_cvtps_pd(xf);
    __m256d z = _mm256_mul_pd(inv, xd);
    __m256d kd = _mm256_add_pd(z, shift);
    __m256i ki = _mm256_castpd_si256(kd);
    kd = _mm256_sub_pd(kd, shift);
    __m256d r = _mm256_sub_pd(z, kd);
    __m256i t = _mm256_i64gather_epi64((const long long *)exp_tab, _mm256_and_si256(ki, low5), 8);
    __m256d sc = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64(ki, 47)));
    __m256d zz = _mm256_add_pd(_mm256_mul_pd(c0, r), c1);
    __m256d r2 = _mm256_mul_pd(r, r);
    __m256d yy = _mm256_add_pd(_mm256_mul_pd(c2, r), one);
    yy = _mm256_add_pd(_mm256_mul_pd(zz, r2), yy);
    __m128 res = _mm256_cvtpd_ps(_mm256_mul_pd(yy, sc));
    if (_mm_movemask_ps(_mm_cmplt_ps(_mm_and_ps(xf, absmask), limit)) != 0xf) {
      float tmp[4];
      _mm_storeu_ps(tmp, res);
      for (int j = 0; j < 4; j++)
        if (!(fabsf(x[i + j]) < 88.0f)) tmp[j] = expf(x[i + j]);
      res = _mm_loadu_ps(tmp);
    }
    _mm_storeu_ps(y + i, res);
  }
  for (; i < n; i++) y[i] = expf(x[i]);
}
#endif

/** y[i] = expf(x[i]) (y may be x). */
static void exp_block(const float *x, float *y, int64_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (exp_lanes) {
    exp_avx2(x, y, n);
    return;
  }
#endif
  for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, the formula tfjs's own Erf
// kernels use): 3x faster here than glibc's erff, which is exact but branchy.
#define ERF_P 0.3275911f
#define ERF_A1 0.254829592f
#define ERF_A2 -0.284496736f
#define ERF_A3 1.421413741f
#define ERF_A4 -1.453152027f
#define ERF_A5 1.061405429f
static inline float erf_as(float x) {
  float ax = fabsf(x);
  float t = 1.0f / (1.0f + ERF_P * ax);
  float r = 1.0f - (((((ERF_A5 * t + ERF_A4) * t) + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t * expf(-ax * ax);
  return x < 0 ? -r : r;
}

// erf_as in three passes over a block, so that its expf runs four at a time: q = the
// polynomial times t and e = -ax^2; e = exp(e); r = 1 - q e (the same operations in the
// same order as erf_as).
HOT static void erf_pre(const float *x, float *q, float *e, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float ax = fabsf(x[i]);
    float t = 1.0f / (1.0f + ERF_P * ax);
    q[i] = (((((ERF_A5 * t + ERF_A4) * t) + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t;
    e[i] = -ax * ax;
  }
}

HOT static void erf_post(const float *x, const float *q, const float *e, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float r = 1.0f - q[i] * e[i];
    y[i] = x[i] < 0 ? -r : r;
  }
}

#define BLOCK 512

/** y[i] = erf_as(x[i]) (y may be x). */
static void erf_block(const float *x, float *y, int64_t n) {
  float q[BLOCK], e[BLOCK];
  for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
    int64_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
    erf_pre(x + i0, q, e, m);
    exp_block(e, e, m);
    erf_post(x + i0, q, e, y + i0, m);
  }
}

HOT static void unary_run(int op, const float *x, float *y, int64_t n) {
  if (op == 0)
    exp_block(x, y, n);
  else if (op == 1)
    erf_block(x, y, n);
  else if (op == 2) // the scalar loops, for the tests
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
  else
    for (int64_t i = 0; i < n; i++) y[i] = erf_as(x[i]);
}

static napi_value Unary(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 5, 0, &a, "unary")) return NULL;
  int64_t op = a.v[0], n = a.v[3];
  if (op < 0 || op > 3) return throw_error(env, "unary: unknown op");
  if (n < 0) return throw_error(env, "unary: negative size");
  if (n == 0) return NULL;
  float *x = operand(env, &a, a.v[1], n, "unary: x");
  if (!x) return NULL;
  float *y = operand(env, &a, a.v[2], n, "unary: y");
  if (!y) return NULL;
  unary_run((int)op, x, y, n);
  return NULL;
}

HOT static void layer_norm_rows(const float *x, const float *g, const float *b, float *y, float *xhat, float *r, int64_t rows,
                                int64_t cols, float eps) {
  for (int64_t i = 0; i < rows; i++) {
    const float *xi = x + i * cols;
    double s = 0;
    for (int64_t j = 0; j < cols; j++) s += xi[j];
    float mean = (float)(s / (double)cols);
    double v = 0;
    for (int64_t j = 0; j < cols; j++) {
      float d = xi[j] - mean;
      v += (double)d * d;
    }
    float ri = 1.0f / sqrtf((float)(v / (double)cols) + eps);
    r[i] = ri;
    float *hi = xhat + i * cols, *yi = y + i * cols;
    for (int64_t j = 0; j < cols; j++) {
      float h = (xi[j] - mean) * ri;
      hi[j] = h;
      yi[j] = h * g[j] + b[j];
    }
  }
}

HOT static void layer_norm_grad_rows(const float *dy, const float *xhat, const float *r, const float *g, float *dx, float *dg, float *db,
                                     int64_t rows, int64_t cols) {
  memset(dg, 0, (size_t)cols * sizeof(float));
  memset(db, 0, (size_t)cols * sizeof(float));
  for (int64_t i = 0; i < rows; i++) {
    const float *dyi = dy + i * cols, *hi = xhat + i * cols;
    float *dxi = dx + i * cols;
    double sg = 0, sgh = 0;
    for (int64_t j = 0; j < cols; j++) {
      float gj = dyi[j] * g[j];
      sg += gj;
      sgh += (double)gj * hi[j];
      dg[j] += dyi[j] * hi[j];
      db[j] += dyi[j];
    }
    float mg = (float)(sg / (double)cols), mgh = (float)(sgh / (double)cols), ri = r[i];
    for (int64_t j = 0; j < cols; j++) dxi[j] = ri * ((dyi[j] * g[j] - mg) - hi[j] * mgh);
  }
}

static napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 10, 0, &a, "layerNorm")) return NULL;
  int64_t rows = a.v[6], cols = a.v[7];
  if (rows < 0 || cols < 1) return throw_error(env, "layerNorm: bad dimensions");
  uint32_t bits = (uint32_t)a.v[8];
  float eps;
  memcpy(&eps, &bits, sizeof eps);
  if (rows == 0) return NULL;
  float *x = operand(env, &a, a.v[0], rows * cols, "layerNorm: x");
  if (!x) return NULL;
  float *g = operand(env, &a, a.v[1], cols, "layerNorm: gamma");
  if (!g) return NULL;
  float *b = operand(env, &a, a.v[2], cols, "layerNorm: beta");
  if (!b) return NULL;
  float *y = operand(env, &a, a.v[3], rows * cols, "layerNorm: y");
  if (!y) return NULL;
  float *h = operand(env, &a, a.v[4], rows * cols, "layerNorm: xhat");
  if (!h) return NULL;
  float *r = operand(env, &a, a.v[5], rows, "layerNorm: r");
  if (!r) return NULL;
  layer_norm_rows(x, g, b, y, h, r, rows, cols, eps);
  return NULL;
}

static napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 10, 0, &a, "layerNormGrad")) return NULL;
  int64_t rows = a.v[7], cols = a.v[8];
  if (rows < 0 || cols < 1) return throw_error(env, "layerNormGrad: bad dimensions");
  float *dg = operand(env, &a, a.v[5], cols, "layerNormGrad: dgamma");
  if (!dg) return NULL;
  float *db = operand(env, &a, a.v[6], cols, "layerNormGrad: dbeta");
  if (!db) return NULL;
  float *dy = operand(env, &a, a.v[0], rows * cols, "layerNormGrad: dy");
  if (!dy) return NULL;
  float *h = operand(env, &a, a.v[1], rows * cols, "layerNormGrad: xhat");
  if (!h) return NULL;
  float *r = operand(env, &a, a.v[2], rows, "layerNormGrad: r");
  if (!r) return NULL;
  float *g = operand(env, &a, a.v[3], cols, "layerNormGrad: gamma");
  if (!g) return NULL;
  float *dx = operand(env, &a, a.v[4], rows * cols, "layerNormGrad: dx");
  if (!dx) return NULL;
  layer_norm_grad_rows(dy, h, r, g, dx, dg, db, rows, cols);
  return NULL;
}

// Math.SQRT1_2 and 1 / Math.sqrt(2 * Math.PI) as the float32 scalars tfjs multiplies by.
#define GEGLU_SQRT1_2 ((float)0.70710678118654752440)
#define GEGLU_INV_SQRT_2PI ((float)(1.0 / sqrt(2.0 * 3.14159265358979323846)))

HOT static void geglu_pre(const float *xg, const float *bg, float *u, int64_t n, float s) {
  for (int64_t j = 0; j < n; j++) u[j] = (xg[j] + bg[j]) * s;
}

HOT static void geglu_post(const float *xa, const float *ba, const float *xg, const float *bg, const float *erfu, float *y, float *cdf,
                           int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    float a = xa[j] + ba[j];
    float g = xg[j] + bg[j];
    float c = (erfu[j] + 1.0f) * 0.5f;
    cdf[j] = c;
    y[j] = a * (g * c);
  }
}

static void geglu_rows(const float *x, const float *b, float *y, float *cdf, int64_t rows, int64_t half) {
  float u[BLOCK];
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * 2 * half;
    for (int64_t j0 = 0; j0 < half; j0 += BLOCK) {
      int64_t m = half - j0 < BLOCK ? half - j0 : BLOCK;
      geglu_pre(xr + half + j0, b + half + j0, u, m, GEGLU_SQRT1_2);
      erf_block(u, u, m);
      geglu_post(xr + j0, b + j0, xr + half + j0, b + half + j0, u, y + r * half + j0, cdf + r * half + j0, m);
    }
  }
}

HOT static void geglu_grad_pre(const float *xg, const float *bg, float *e, int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    float g = xg[j] + bg[j];
    e[j] = (g * g) * -0.5f;
  }
}

HOT static void geglu_grad_post(const float *dy, const float *xa, const float *ba, const float *xg, const float *bg, const float *c,
                                const float *expe, float *da, float *dg, int64_t n) {
  const float ip = GEGLU_INV_SQRT_2PI;
  for (int64_t j = 0; j < n; j++) {
    float a = xa[j] + ba[j];
    float g = xg[j] + bg[j];
    float pdf = expe[j] * ip;
    float d = dy[j];
    da[j] = d * (g * c[j]);
    dg[j] = (d * a) * (c[j] + g * pdf);
  }
}

HOT static void column_sums(const float *row, float *db, int64_t n, int first) {
  if (first)
    memcpy(db, row, (size_t)n * sizeof(float));
  else
    for (int64_t j = 0; j < n; j++) db[j] += row[j];
}

static void geglu_grad_rows(const float *dy, const float *x, const float *b, const float *cdf, float *dx, float *db, int64_t rows,
                            int64_t half) {
  float e[BLOCK];
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * 2 * half, *dyr = dy + r * half, *cr = cdf + r * half;
    float *dxr = dx + r * 2 * half;
    for (int64_t j0 = 0; j0 < half; j0 += BLOCK) {
      int64_t m = half - j0 < BLOCK ? half - j0 : BLOCK;
      geglu_grad_pre(xr + half + j0, b + half + j0, e, m);
      exp_block(e, e, m);
      geglu_grad_post(dyr + j0, xr + j0, b + j0, xr + half + j0, b + half + j0, cr + j0, e, dxr + j0, dxr + half + j0, m);
    }
    column_sums(dxr, db, 2 * half, r == 0);
  }
}

static napi_value GegluGate(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 7, 0, &a, "gegluGate")) return NULL;
  int64_t rows = a.v[4], half = a.v[5];
  if (rows < 0 || half < 1) return throw_error(env, "gegluGate: bad dimensions");
  if (rows == 0) return NULL;
  float *x = operand(env, &a, a.v[0], rows * 2 * half, "gegluGate: x");
  if (!x) return NULL;
  float *b = operand(env, &a, a.v[1], 2 * half, "gegluGate: bias");
  if (!b) return NULL;
  float *y = operand(env, &a, a.v[2], rows * half, "gegluGate: y");
  if (!y) return NULL;
  float *c = operand(env, &a, a.v[3], rows * half, "gegluGate: cdf");
  if (!c) return NULL;
  geglu_rows(x, b, y, c, rows, half);
  return NULL;
}

static napi_value GegluGateGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!read_args(env, info, 9, 0, &a, "gegluGateGrad")) return NULL;
  int64_t rows = a.v[6], half = a.v[7];
  if (rows < 0 || half < 1) return throw_error(env, "gegluGateGrad: bad dimensions");
  float *db = operand(env, &a, a.v[5], 2 * half, "gegluGateGrad: dbias");
  if (!db) return NULL;
  if (rows == 0) {
    memset(db, 0, (size_t)(2 * half) * sizeof(float));
    return NULL;
  }
  float *dy = operand(env, &a, a.v[0], rows * half, "gegluGateGrad: dy");
  if (!dy) return NULL;
  float *x = operand(env, &a, a.v[1], rows * 2 * half, "gegluGateGrad: x");
  if (!x) return NULL;
  float *b = operand(env, &a, a.v[2], 2 * half, "gegluGateGrad: bias");
  if (!b) return NULL;
  float *c = operand(env, &a, a.v[3], rows * half, "gegluGateGrad: cdf");
  if (!c) return NULL;
  float *dx = operand(env, &a, a.v[4], rows * 2 * half, "gegluGateGrad: dx");
  if (!dx) return NULL;
  geglu_grad_rows(dy, x, b, c, dx, db, rows, half);
  return NULL;
}

HOT static void adam_run(float *p, const float *g, float *m, float *v, int64_t from, int64_t to, double b1, double b2, double eps,
                         double stepSize, double bc2Sqrt, double l2, double keep) {
  for (int64_t i = from; i < to; i++) {
    double pi = p[i];
    double gi = (double)g[i] + l2 * pi;
    pi *= keep;
    float mi = (float)(b1 * (double)m[i] + (1 - b1) * gi);
    float vi = (float)(b2 * (double)v[i] + (1 - b2) * gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = (float)(pi - (stepSize * (double)mi) / (sqrt((double)vi) / bc2Sqrt + eps));
  }
}

// A typed array argument of the given type: its data (NULL when empty) and length in
// elements; 0 with a JS error when it is something else.
static int typed_arg(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length, const char *who,
                     const char *what) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  napi_typedarray_type type;
  if (!is_typed || napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s must be a %s", who, what, want == napi_uint8_array ? "Uint8Array" : "Float32Array");
    throw_error(env, msg);
    return 0;
  }
  return 1;
}

static napi_value Adam(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 13)
    return throw_error(env, "adam: 13 arguments expected");
  const char *names[4] = {"params", "grads", "m", "v"};
  float *arr[4];
  size_t len[4];
  for (int i = 0; i < 4; i++) {
    void *data = NULL;
    if (!typed_arg(env, argv[i], napi_float32_array, &data, &len[i], "adam", names[i])) return NULL;
    arr[i] = data;
  }
  double num[9];
  for (int i = 0; i < 9; i++) {
    if (napi_get_value_double(env, argv[4 + i], &num[i]) != napi_ok) return throw_error(env, "adam: numbers expected after the arrays");
  }
  double from = num[0], to = num[1];
  size_t n = len[0];
  for (int i = 1; i < 4; i++) n = len[i] < n ? len[i] : n;
  if (!(from >= 0 && from <= to && to <= (double)n) || from != (double)(int64_t)from || to != (double)(int64_t)to)
    return throw_error(env, "adam: [from, to) must be integers within the arrays");
  adam_run(arr[0], arr[1], arr[2], arr[3], (int64_t)from, (int64_t)to, num[2], num[3], num[4], num[5], num[6], num[7], num[8]);
  return NULL;
}

HOT static double sum_squares(const float *x, int64_t from, int64_t to, double s) {
  for (int64_t i = from; i < to; i++) {
    double v = x[i];
    s += v * v;
  }
  return s;
}

static napi_value SumSquares(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4)
    return throw_error(env, "sumSquares: 4 arguments expected");
  size_t n = 0;
  void *data = NULL;
  if (!typed_arg(env, argv[0], napi_float32_array, &data, &n, "sumSquares", "x")) return NULL;
  double from, to, init;
  if (napi_get_value_double(env, argv[1], &from) != napi_ok || napi_get_value_double(env, argv[2], &to) != napi_ok ||
      napi_get_value_double(env, argv[3], &init) != napi_ok)
    return throw_error(env, "sumSquares: numbers expected after the array");
  if (!(from >= 0 && from <= to && to <= (double)n) || from != (double)(int64_t)from || to != (double)(int64_t)to)
    return throw_error(env, "sumSquares: [from, to) must be integers within the array");
  napi_value out;
  napi_create_double(env, sum_squares((const float *)data, (int64_t)from, (int64_t)to, init), &out);
  return out;
}

HOT static double copy_squares(const float *x, float *y, int64_t n, double s) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    y[i] = v;
    double d = v;
    s += d * d;
  }
  return s;
}

static napi_value ReadSquares(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6)
    return throw_error(env, "readSquares: 6 arguments expected");
  size_t heapLen = 0, dstLen = 0;
  void *heapData = NULL, *dstData = NULL;
  if (!typed_arg(env, argv[0], napi_uint8_array, &heapData, &heapLen, "readSquares", "the heap")) return NULL;
  if (!typed_arg(env, argv[2], napi_float32_array, &dstData, &dstLen, "readSquares", "dst")) return NULL;
  double src, at, n, init;
  if (napi_get_value_double(env, argv[1], &src) != napi_ok || napi_get_value_double(env, argv[3], &at) != napi_ok ||
      napi_get_value_double(env, argv[4], &n) != napi_ok || napi_get_value_double(env, argv[5], &init) != napi_ok)
    return throw_error(env, "readSquares: numbers expected");
  if (!(src >= 0 && at >= 0 && n >= 0) || src != (double)(int64_t)src || at != (double)(int64_t)at || n != (double)(int64_t)n ||
      ((int64_t)src & 3) != 0 || src + 4 * n > (double)heapLen || at + n > (double)dstLen)
    return throw_error(env, "readSquares: the source must lie inside the heap and the destination inside dst");
  double sum = n == 0 ? init : copy_squares((const float *)((uint8_t *)heapData + (int64_t)src), (float *)dstData + (int64_t)at, (int64_t)n, init);
  napi_value out;
  napi_create_double(env, sum, &out);
  return out;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t n = 0;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1)
    return throw_error(env, "setThreads(n): n must be a positive integer");
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "config", v);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "corename", v);
  napi_create_int32(env, openblas_get_num_threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  return obj;
}

static napi_value Init(napi_env env, napi_value exports) {
  // One BLAS thread per process unless the caller asks otherwise (one worker per core is the scaling unit).
  openblas_set_num_threads(1);
  exp_init();
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"gemm", Gemm},     {"transpose", Transpose}, {"permuteRows", PermuteRows}, {"reduce", Reduce},
             {"binary", Binary}, {"unary", Unary}, {"layerNorm", LayerNorm}, {"layerNormGrad", LayerNormGrad},
             {"gegluGate", GegluGate}, {"gegluGateGrad", GegluGateGrad}, {"adam", Adam}, {"sumSquares", SumSquares}, {"readSquares", ReadSquares},
             {"setThreads", SetThreads}, {"info", Info}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
