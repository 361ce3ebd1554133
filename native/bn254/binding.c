/* Node-API binding: msm(group, bases, scalars, portable?) -> Promise<Uint8Array> (Jacobian point,
 * see msm.h; `portable` forces the portable arithmetic), quotient(coefficients, witness, nVars,
 * bits) -> Promise<Uint8Array> (the H scalars), finish(sums, scalars, portable?) -> Uint8Array (the
 * proof's affine points, computed at once: a few hundred microseconds), and usesAdx.
 * Each multi-exponentiation and quotient runs on a short-lived thread of its own, so several proceed in
 * parallel, the calling thread's event loop stays free, and libuv's thread pool (which serves the
 * process's file system calls) is never held up by them. The inputs are copied first: the thread
 * never touches JavaScript memory, which may go away with its thread (a worker ending). */
/* dladdr, RTLD_NODELETE */
#define _GNU_SOURCE
#include <node_api.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include "msm.h"

/* A job is shared by its thread and the environment that asked for it: `refs` counts the two
 * (one when computed inline), and the last to let go frees it. `thread_done` is set, under
 * `lock`, once the thread has handed the job to `done` and released it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;

typedef struct {
  napi_threadsafe_function done;
  napi_deferred deferred;
  int refs;
  int thread_done;
  int hooked; /* wait_for_thread is registered as a cleanup hook of the environment */
  uint8_t *bases, *scalars; /* copies, owned by the job (a quotient's coefficients and witness) */
  size_t n;      /* points; a quotient's witness values */
  size_t blen;   /* a quotient's coefficient bytes */
  int group;     /* 1, 2, or 0 for a quotient */
  unsigned bits; /* a quotient's domain: 2^bits */
  int portable;
  int status;
  uint8_t out[192];
  uint8_t *big_out; /* a quotient's result (2^bits x 32 bytes), owned by the job */
} msm_job;

static void compute(msm_job *job) {
  if (job->group == 1) job->status = bn254_g1_msm(job->out, job->bases, job->scalars, job->n, job->portable);
  else if (job->group == 2) job->status = bn254_g2_msm(job->out, job->bases, job->scalars, job->n, job->portable);
  else job->status = job->big_out ? bn254_groth16_quotient(job->big_out, job->bases, job->blen, job->scalars, job->n, job->bits) : -1;
}

/* The inputs' copies go once computed; the scalars are the witness (which holds the owner's
 * proofKey) or derived from it, so they are wiped first. */
static void wipe(void *bytes, size_t len) {
  volatile uint8_t *p = bytes;
  for (size_t i = 0; p != NULL && i < len; i++) p[i] = 0;
}

static void drop_inputs(msm_job *job) {
  wipe(job->scalars, job->n * 32); /* n points' scalars, or a quotient's n witness values */
  free(job->bases);
  free(job->scalars);
  job->bases = job->scalars = NULL;
}

static size_t result_len(const msm_job *job) { return job->group == 1 ? 96 : job->group == 2 ? 192 : ((size_t)1 << job->bits) * 32; }

static void let_go(msm_job *job) {
  pthread_mutex_lock(&lock);
  int last = --job->refs == 0;
  pthread_mutex_unlock(&lock);
  if (last) {
    if (job->big_out) wipe(job->big_out, result_len(job));
    free(job->big_out);
    free(job);
  }
}

/* An environment going away (a worker terminated, the process exiting) first waits for its jobs'
 * threads: the thread-safe function they settle through is deleted right after this hook (hooks
 * run in reverse order of registration, and this one is registered after the function), and a
 * thread calling it then would use freed memory. A multi-exponentiation ends within a second. */
static void wait_for_thread(void *arg) {
  msm_job *job = arg;
  pthread_mutex_lock(&lock);
  while (!job->thread_done) pthread_cond_wait(&finished, &lock);
  pthread_mutex_unlock(&lock);
}

/* On the calling thread: resolves the promise with the point, or rejects it. */
static void settle(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  msm_job *job = data;
  if (env != NULL) { /* NULL: the environment is going away, nothing to settle */
    if (job->hooked) napi_remove_env_cleanup_hook(env, wait_for_thread, job);
    size_t len = result_len(job);
    napi_value buf, arr;
    void *dst;
    if (job->status == 0 && napi_create_arraybuffer(env, len, &dst, &buf) == napi_ok &&
        napi_create_typedarray(env, napi_uint8_array, len, buf, 0, &arr) == napi_ok) {
      memcpy(dst, job->group == 0 ? job->big_out : job->out, len);
      napi_resolve_deferred(env, job->deferred, arr);
    } else {
      napi_value msg, err;
      const char *what = job->status == -1 ? "bn254 failed: out of memory" : job->status == -2 ? "bn254 quotient failed: malformed coefficients" : "bn254 failed";
      napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, NULL, msg, &err);
      napi_reject_deferred(env, job->deferred, err);
    }
  }
  let_go(job);
}

static void *run(void *data) {
  msm_job *job = data;
#ifdef __linux__
  /* Proving is background work: a lower priority (nice 10) for this thread only, so the node's
   * event loops keep their CPU time. Failing to lower it changes nothing else. */
  (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
#endif
  compute(job);
  drop_inputs(job);
  pthread_mutex_lock(&lock);
  /* Queued for settle() on the calling thread (which then lets go of the environment's share);
   * refused only when the function is closing, and then settle() never comes. */
  if (napi_call_threadsafe_function(job->done, job, napi_tsfn_nonblocking) != napi_ok) job->refs--;
  napi_release_threadsafe_function(job->done, napi_tsfn_release);
  job->thread_done = 1;
  pthread_cond_broadcast(&finished);
  pthread_mutex_unlock(&lock);
  let_go(job);
  return NULL;
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

/* Argument `at`, when given and not undefined, must be a boolean: read into *out. 0 otherwise. */
static int optional_bool(napi_env env, size_t argc, napi_value *argv, size_t at, bool *out) {
  napi_valuetype kind = napi_undefined;
  if (argc <= at) return 1;
  if (napi_typeof(env, argv[at], &kind) != napi_ok) return 0;
  return kind == napi_undefined || (kind == napi_boolean && napi_get_value_bool(env, argv[at], out) == napi_ok);
}

/* A job with copies of its two inputs and, for a quotient, `out_len` bytes for its result (NULL
 * when memory ran out). */
static msm_job *new_job(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t out_len) {
  msm_job *job = calloc(1, sizeof *job);
  if (job) {
    job->bases = malloc(alen + 1);
    job->scalars = malloc(blen + 1);
    if (out_len) job->big_out = malloc(out_len);
  }
  if (!job || !job->bases || !job->scalars || (out_len && !job->big_out)) {
    if (job) {
      free(job->bases);
      free(job->scalars);
      free(job->big_out);
    }
    free(job);
    return NULL;
  }
  memcpy(job->bases, a, alen);
  memcpy(job->scalars, b, blen);
  return job;
}

/* Runs a job on a thread of its own (or here, when no thread can start); returns its promise. */
static napi_value start(napi_env env, msm_job *job) {
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "bn254-msm", NAPI_AUTO_LENGTH, &name);
  int have_done = napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, settle, &job->done) == napi_ok;
  /* Registered after the function, so it runs before the function's own cleanup. */
  job->hooked = have_done && napi_add_env_cleanup_hook(env, wait_for_thread, job) == napi_ok;
  job->refs = 2;
  int started = 0;
  pthread_attr_t attr;
  if (job->hooked && pthread_attr_init(&attr) == 0) {
    pthread_t thread;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    started = pthread_create(&thread, &attr, run, job) == 0;
    pthread_attr_destroy(&attr);
  }
  if (!started) { /* no thread to spare: compute here, then settle as the thread would have */
    if (job->hooked) napi_remove_env_cleanup_hook(env, wait_for_thread, job);
    job->hooked = 0;
    job->refs = 1;
    if (have_done) napi_release_threadsafe_function(job->done, napi_tsfn_release);
    compute(job);
    drop_inputs(job);
    settle(env, NULL, NULL, job);
  }
  return promise;
}

static napi_value msm(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || argc > 4) return fail(env, "msm(group, bases, scalars, portable?)");
  bool portable = false;
  if (!optional_bool(env, argc, argv, 3, &portable)) return fail(env, "portable must be a boolean");
  int32_t group;
  if (napi_get_value_int32(env, argv[0], &group) != napi_ok || (group != 1 && group != 2)) return fail(env, "group must be 1 or 2");
  const uint8_t *bases, *scalars;
  size_t blen, slen;
  if (!bytes_of(env, argv[1], &bases, &blen) || !bytes_of(env, argv[2], &scalars, &slen)) return fail(env, "bases and scalars must be Uint8Arrays");
  size_t point = group == 1 ? 64 : 128;
  if (blen % point != 0 || slen != (blen / point) * 32) return fail(env, "bases and scalars do not have matching lengths");
  size_t n = blen / point;
  msm_job *job = new_job(bases, blen, scalars, slen, 0);
  if (!job) return fail(env, "out of memory");
  job->group = group;
  job->portable = portable;
  job->n = n;
  return start(env, job);
}

/* quotient(coefficients, witness, nVars, bits): see msm.h. */
static napi_value quotient(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) return fail(env, "quotient(coefficients, witness, nVars, bits)");
  const uint8_t *coefs, *witness;
  size_t clen, wlen;
  if (!bytes_of(env, argv[0], &coefs, &clen) || !bytes_of(env, argv[1], &witness, &wlen)) return fail(env, "coefficients and witness must be Uint8Arrays");
  uint32_t nvars, bits;
  if (napi_get_value_uint32(env, argv[2], &nvars) != napi_ok || napi_get_value_uint32(env, argv[3], &bits) != napi_ok || bits < 1 || bits > 27) return fail(env, "nVars and bits must be integers, bits 1 to 27");
  if (wlen != (size_t)nvars * 32) return fail(env, "the witness does not hold nVars values");
  msm_job *job = new_job(coefs, clen, witness, wlen, ((size_t)1 << bits) * 32);
  if (!job) return fail(env, "out of memory");
  job->group = 0;
  job->n = nvars;
  job->blen = clen;
  job->bits = bits;
  return start(env, job);
}

/* finish(sums, scalars, portable?): see msm.h; throws when the proof would be degenerate. */
static napi_value finish(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || argc > 3) return fail(env, "finish(sums, scalars, portable?)");
  bool portable = false;
  if (!optional_bool(env, argc, argv, 2, &portable)) return fail(env, "portable must be a boolean");
  const uint8_t *sums, *scalars;
  size_t slen, klen;
  if (!bytes_of(env, argv[0], &sums, &slen) || !bytes_of(env, argv[1], &scalars, &klen) || slen != 1024 || klen != 96) return fail(env, "sums must be 1024 bytes and scalars 96");
  uint8_t in[1024], k[96], out[256];
  memcpy(in, sums, sizeof in);
  memcpy(k, scalars, sizeof k);
  if (bn254_groth16_finish(out, in, k, portable) != 0) {
    napi_throw_error(env, NULL, "bn254 finish: a point of the proof is infinity (prove again)");
    return NULL;
  }
  napi_value buf, arr;
  void *dst;
  if (napi_create_arraybuffer(env, sizeof out, &dst, &buf) != napi_ok || napi_create_typedarray(env, napi_uint8_array, sizeof out, buf, 0, &arr) != napi_ok) return fail(env, "out of memory");
  memcpy(dst, out, sizeof out);
  return arr;
}

/* An environment that goes away (a worker thread ending) may unload this module; a job's thread
 * still runs a few instructions of it after its environment stopped waiting for it. Loaded once
 * more with RTLD_NODELETE, the module stays mapped for the life of the process. */
static void keep_loaded(void) {
  Dl_info self;
  if (dladdr((void *)&keep_loaded, &self) != 0 && self.dli_fname != NULL) (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

NAPI_MODULE_INIT() {
  keep_loaded();
  napi_value fn;
  napi_create_function(env, "msm", NAPI_AUTO_LENGTH, msm, NULL, &fn);
  napi_set_named_property(env, exports, "msm", fn);
  napi_create_function(env, "quotient", NAPI_AUTO_LENGTH, quotient, NULL, &fn);
  napi_set_named_property(env, exports, "quotient", fn);
  napi_create_function(env, "finish", NAPI_AUTO_LENGTH, finish, NULL, &fn);
  napi_set_named_property(env, exports, "finish", fn);
  napi_value adx;
  napi_get_boolean(env, bn254_msm_uses_adx() != 0, &adx);
  napi_set_named_property(env, exports, "usesAdx", adx);
  return exports;
}
