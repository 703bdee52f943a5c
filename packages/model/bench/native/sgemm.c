// Minimal N-API addon exposing OpenBLAS's cblas_sgemm on Float32Arrays, for the
// native-road measurement of packages/model/bench/native-sgemm.bench.ts (not
// wired into the model). Built by that script with g++ against Debian's
// libopenblas0-pthread; the prototypes are declared here so libopenblas-dev is
// not needed.
#include <node_api.h>
#include <stdint.h>

enum { RowMajor = 101 };
enum { NoTrans = 111, Trans = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc);
extern void openblas_set_num_threads(int n);

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int f32(napi_env env, napi_value v, float **data, size_t *len) {
  napi_typedarray_type type;
  void *ptr;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &buf, &off) != napi_ok || type != napi_float32_array) return 0;
  *data = (float *)ptr;
  return 1;
}

// sgemm(a, b, c, m, k, n, transA, transB): c[m,n] = op(a) op(b), row-major;
// op(a) is [m,k] (a stored [k,m] when transA), op(b) is [k,n] (b stored [n,k] when transB).
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 8) return fail(env, "sgemm(a, b, c, m, k, n, transA, transB): 8 arguments expected");
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!f32(env, argv[0], &a, &la) || !f32(env, argv[1], &b, &lb) || !f32(env, argv[2], &c, &lc))
    return fail(env, "sgemm: a, b and c must be Float32Arrays");
  int32_t m, k, n;
  bool ta, tb;
  napi_get_value_int32(env, argv[3], &m);
  napi_get_value_int32(env, argv[4], &k);
  napi_get_value_int32(env, argv[5], &n);
  napi_get_value_bool(env, argv[6], &ta);
  napi_get_value_bool(env, argv[7], &tb);
  if (m < 1 || k < 1 || n < 1 || la < (size_t)m * k || lb < (size_t)k * n || lc < (size_t)m * n)
    return fail(env, "sgemm: array lengths do not fit m, k, n");
  cblas_sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  openblas_set_num_threads(1);
  napi_value fn;
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, Sgemm, NULL, &fn);
  napi_set_named_property(env, exports, "sgemm", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
