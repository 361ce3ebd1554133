/* Node-API binding: msm(group, bases, scalars, portable?) -> Promise<Uint8Array> (Jacobian point,
 * see msm.h; `portable` forces the portable arithmetic), and usesAdx (which arithmetic runs).
 * The work runs on libuv's thread pool, so several multi-exponentiations proceed in parallel and
 * the calling thread's event loop stays free. The input buffers are held by references until the
 * work is done; the caller must not change them meanwhile. */
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include "msm.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref bases_ref, scalars_ref;
  const uint8_t *bases, *scalars;
  size_t n;
  int group;
  int portable;
  int status;
  uint8_t out[192];
} msm_job;

static void compute(msm_job *job) {
  if (job->group == 1) job->status = bn254_g1_msm(job->out, job->bases, job->scalars, job->n, job->portable);
  else job->status = bn254_g2_msm(job->out, job->bases, job->scalars, job->n, job->portable);
}

static void *run(void *data) {
#ifdef __linux__
  /* Proving is background work: a lower priority (nice 10) for this thread only, so the node's
   * event loops keep their CPU time. Failing to lower it changes nothing else. */
  (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
#endif
  compute(data);
  return NULL;
}

/* Runs on a libuv pool thread, which must keep its priority (it also serves file system calls):
 * the arithmetic runs on a short-lived thread of its own, and the pool thread waits for it. */
static void execute(napi_env env, void *data) {
  (void)env;
  pthread_t thread;
  if (pthread_create(&thread, NULL, run, data) != 0) {
    compute(data); /* no thread to spare: compute here, at the pool thread's own priority */
    return;
  }
  pthread_join(thread, NULL);
}

static void complete(napi_env env, napi_status status, void *data) {
  msm_job *job = data;
  size_t len = job->group == 1 ? 96 : 192;
  napi_value buf, arr;
  void *dst;
  if (status == napi_ok && job->status == 0 && napi_create_arraybuffer(env, len, &dst, &buf) == napi_ok &&
      napi_create_typedarray(env, napi_uint8_array, len, buf, 0, &arr) == napi_ok) {
    memcpy(dst, job->out, len);
    napi_resolve_deferred(env, job->deferred, arr);
  } else {
    napi_value msg, err;
    napi_create_string_utf8(env, job->status != 0 ? "bn254 msm failed: out of memory" : "bn254 msm failed", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  }
  napi_delete_reference(env, job->bases_ref);
  napi_delete_reference(env, job->scalars_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static int bytes_of(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = ptr;
  *len = length;
  return 1;
}

static napi_value msm(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || argc > 4) return fail(env, "msm(group, bases, scalars, portable?)");
  bool portable = false;
  napi_valuetype kind = napi_undefined;
  if (argc == 4 && (napi_typeof(env, argv[3], &kind) != napi_ok || (kind != napi_undefined && (kind != napi_boolean || napi_get_value_bool(env, argv[3], &portable) != napi_ok)))) return fail(env, "portable must be a boolean");
  int32_t group;
  if (napi_get_value_int32(env, argv[0], &group) != napi_ok || (group != 1 && group != 2)) return fail(env, "group must be 1 or 2");
  const uint8_t *bases, *scalars;
  size_t blen, slen;
  if (!bytes_of(env, argv[1], &bases, &blen) || !bytes_of(env, argv[2], &scalars, &slen)) return fail(env, "bases and scalars must be Uint8Arrays");
  size_t point = group == 1 ? 64 : 128;
  if (blen % point != 0 || slen != (blen / point) * 32) return fail(env, "bases and scalars do not have matching lengths");
  msm_job *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "out of memory");
  job->group = group;
  job->portable = portable;
  job->bases = bases;
  job->scalars = scalars;
  job->n = blen / point;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_reference(env, argv[1], 1, &job->bases_ref);
  napi_create_reference(env, argv[2], 1, &job->scalars_ref);
  napi_create_string_utf8(env, "bn254-msm", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "msm", NAPI_AUTO_LENGTH, msm, NULL, &fn);
  napi_set_named_property(env, exports, "msm", fn);
  napi_value adx;
  napi_get_boolean(env, bn254_msm_uses_adx() != 0, &adx);
  napi_set_named_property(env, exports, "usesAdx", adx);
  return exports;
}
