/* Node-API binding: the hot loops of ingest, and the direct writes of packs, in C.
 *
 *   gearCut(gear, data, start, end, minBytes, avgBytes, maxBytes, smallMask, largeMask) -> length
 *     The FastCDC cut of src/core/chunking/fastcdc.ts findCut(), bit for bit: the same rolling
 *     gear hash h = (h << 1) + gear[byte] on 32-bit words and the same masks. The caller keeps the
 *     findCut() contract (end - start >= maxBytes unless no more bytes follow).
 *   merkleRoot(object) -> Uint8Array(32)
 *     The root of src/core/audit/merkle.ts: SHA-256(0x00 || leaf) over 4 KiB leaves, inner nodes
 *     SHA-256(0x01 || left || right), an odd last node promoted, root
 *     SHA-256(0x02 || u64le(size) || top). SHA-256 is the OpenSSL that Node itself exports, which
 *     uses the CPU's SHA instructions where it has them.
 *
 *   merkleRootAsync(object) -> Promise<Uint8Array(32)>
 *     The same root, computed on the libuv thread pool: neither the calling thread nor the seal
 *     workers (busy reading and sealing files) wait for it. Bytes in a SharedArrayBuffer are read
 *     in place and must not change until the promise settles; other bytes are copied first.
 *
 *   copy(target, offset, source) -> undefined
 *     target.set(source, offset) as one memcpy: V8 copies to or from shared memory word by word
 *     (about 1 GB/s here), and the main thread copies every sealed chunk into its pack that way.
 *
 *   xchachaSeal(out, plain, ad, nonce, key) -> undefined
 *   xchachaOpen(out, sealed, ad, nonce, key) -> boolean
 *     XChaCha20-Poly1305-IETF exactly as libsodium's crypto_aead_xchacha20poly1305_ietf_encrypt
 *     and _decrypt (aead.c), on the ChaCha20-Poly1305 of the OpenSSL Node exports, which uses the
 *     CPU's widest vector units: about 1.5 times libsodium's speed here. `out` is plain + 16 bytes
 *     (seal) or sealed - 16 bytes (open). xchachaOpen returns false when the tag does not verify,
 *     and then leaves `out` zeroed. Both run on the calling thread.
 *
 *   writeAll(fd, bytes) -> Promise<number>
 *     Writes all of `bytes` at offset 0 of the open file `fd`, on the libuv thread pool, and
 *     resolves with how many of them went by direct I/O. When `fd` was opened with O_DIRECT, the
 *     bytes go to the device in whole, page-aligned blocks (through a page-aligned buffer of the
 *     pool thread where `bytes` is not aligned itself), so they never fill the page cache; the
 *     last partial block, or everything when the file system refuses direct I/O (EINVAL), is
 *     written through the page cache as usual. Shared bytes are read in place and must not change
 *     until the promise settles; others are copied first. Rejects with an Error whose `code` is
 *     the errno name (EIO, ENOSPC...).
 *
 *   readAt(fd, offset, into) -> Promise<number>
 *     Reads bytes [offset, offset + into.length) of an open file into `into`, on the libuv thread
 *     pool, and resolves with how many it read (fewer only at the end of the file). When `fd` was
 *     opened with O_DIRECT, whole aligned blocks covering the range are read past the page cache:
 *     straight into `into` where its memory address and `offset` are equal modulo 4096 (all but a
 *     partial block at either end), otherwise into a page-aligned buffer of the pool thread and
 *     copied out (all through the page cache when the file system refuses with EINVAL). As with
 *     fs.read, `into` is written from the pool thread: the caller must not touch it until the
 *     promise settles. Rejects like writeAll.
 *
 *   writeAt(fd, directFd, offset, bytes) -> Promise<number>
 *     Writes all of `bytes` at `offset` of an open file, on the libuv thread pool, and resolves
 *     with how many of them went by direct I/O. `directFd` (or -1) is a second descriptor of the
 *     same file opened with O_DIRECT: the whole, page-aligned blocks inside the range go through
 *     it, past the page cache; the partial blocks at either end (or everything, when there is no
 *     direct descriptor or the file system refuses direct I/O with EINVAL) go through `fd`. Blocks
 *     written one way are never written the other way in the same call, so neighbouring writes of
 *     the same file may go either way. Rejects like writeAll.
 *
 *   finishFile(fd, mode, mtimeMs, from, to) -> Promise<undefined>
 *     Finishes a restored file in one trip to the libuv thread pool instead of four: fchmod(mode),
 *     both times set to mtimeMs (to the microsecond), close(fd) (always, also after a failed
 *     step), then rename(from, to). Rejects with an Error whose `code` is the errno name and whose
 *     message names the failed step. The caller owns `fd` (a plain descriptor, not a FileHandle,
 *     which would close it again).
 *
 *   writeFile(from, to, bytes, mode, mtimeMs) -> Promise<undefined>
 *     A whole (small) restored file in one trip to the libuv thread pool instead of three: creates
 *     `from` (O_EXCL, O_NOFOLLOW, mode 0600), writes `bytes` through the page cache, sets mode and
 *     both times as finishFile does, closes it and renames it to `to`. On any failure the file
 *     is removed again. Bytes in a plain (not shared) buffer are copied before the call returns,
 *     so the caller may reuse that memory at once. Rejects like finishFile.
 *
 * All but merkleRootAsync, writeAll, writeAt, readAt, finishFile and writeFile are synchronous: they run on the calling thread. Typed arrays may be backed by a
 * SharedArrayBuffer; the caller must not change the bytes during the call. */
/* O_DIRECT */
#define _GNU_SOURCE
#include <node_api.h>
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 in favour of EVP, which costs far more per
 * 4 KiB leaf; Node exports both. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include "aead.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define LEAF_BYTES 4096

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* A typed array of the wanted type: its data and length, and (when `buffer` is given) its buffer. */
static int typed_in(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len, napi_value *buffer) {
  bool is_ta = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, buffer, NULL) != napi_ok || type != want) return 0;
  return 1;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  return typed_in(env, v, want, data, len, NULL);
}

static int whole(napi_env env, napi_value v, double max, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= max) || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

/* Rolls the gear hash h = (h << 1) + gear[byte] over [p, end); returns the place just past the
 * first byte after which (h & mask) == 0, or NULL when there is none (h then covers the range).
 * Four bytes a step: the hash after byte i of the step is (h << (i + 1)) plus a sum of the step's
 * gear words that does not depend on h, so the four hashes are computed side by side and the
 * chain of dependent operations is a quarter as long as one byte at a time (1.85 times as fast
 * here). The same hashes are tested in the same order. */
static const uint8_t *roll(const int32_t *gear, const uint8_t *p, const uint8_t *end, uint32_t *hp, uint32_t mask) {
  uint32_t h = *hp;
  for (; end - p >= 4; p += 4) {
    uint32_t g0 = (uint32_t)gear[p[0]], g1 = (uint32_t)gear[p[1]], g2 = (uint32_t)gear[p[2]], g3 = (uint32_t)gear[p[3]];
    uint32_t s1 = g0, s2 = (s1 << 1) + g1, s3 = (s2 << 1) + g2, s4 = (s3 << 1) + g3;
    uint32_t h1 = (h << 1) + s1, h2 = (h << 2) + s2, h3 = (h << 3) + s3, h4 = (h << 4) + s4;
    if (((h1 & mask) == 0) | ((h2 & mask) == 0) | ((h3 & mask) == 0) | ((h4 & mask) == 0)) {
      if ((h1 & mask) == 0) { *hp = h1; return p + 1; }
      if ((h2 & mask) == 0) { *hp = h2; return p + 2; }
      if ((h3 & mask) == 0) { *hp = h3; return p + 3; }
      *hp = h4;
      return p + 4;
    }
    h = h4;
  }
  for (; p < end; p++) {
    h = (h << 1) + (uint32_t)gear[*p];
    if ((h & mask) == 0) {
      *hp = h;
      return p + 1;
    }
  }
  *hp = h;
  return NULL;
}

static napi_value gear_cut(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 9) return fail(env, "gearCut takes 9 arguments");
  void *gear_p, *data_p;
  size_t gear_len, data_len;
  if (!typed(env, argv[0], napi_int32_array, &gear_p, &gear_len) || gear_len != 256) return fail(env, "gear must be an Int32Array of 256 words");
  if (!typed(env, argv[1], napi_uint8_array, &data_p, &data_len)) return fail(env, "data must be a Uint8Array");
  int64_t start, end, min, avg, max;
  uint32_t small, large;
  if (!whole(env, argv[2], (double)data_len, &start) || !whole(env, argv[3], (double)data_len, &end) || start > end) return fail(env, "start and end must lie within data");
  if (!whole(env, argv[4], 4294967295.0, &min) || !whole(env, argv[5], 4294967295.0, &avg) || !whole(env, argv[6], 4294967295.0, &max) || min < 1 || min >= avg || avg >= max) {
    return fail(env, "chunk sizes must satisfy 1 <= min < avg < max");
  }
  if (napi_get_value_uint32(env, argv[7], &small) != napi_ok || napi_get_value_uint32(env, argv[8], &large) != napi_ok) return fail(env, "masks must be 32-bit words");
  const int32_t *gear = gear_p;
  const uint8_t *data = data_p;
  int64_t available = end - start, cut;
  if (available <= min) {
    cut = available;
  } else {
    int64_t limit = available < max ? available : max;
    int64_t normal = limit < avg ? limit : avg;
    uint32_t h = 0;
    const uint8_t *base = data + start;
    const uint8_t *hit = roll(gear, base + min, base + normal, &h, small);
    if (!hit) hit = roll(gear, base + normal, base + limit, &h, large);
    cut = hit ? hit - base : limit;
  }
  napi_value result;
  napi_create_double(env, (double)cut, &result);
  return result;
}

static void hash_node(const uint8_t *left, const uint8_t *right, uint8_t *out) {
  uint8_t in[65];
  in[0] = 0x01;
  memcpy(in + 1, left, 32);
  memcpy(in + 33, right, 32);
  SHA256(in, sizeof in, out);
}

/* The root of `size` bytes (size > 0) into out; -1 when memory runs out. Touches no JavaScript
 * value: merkleRootAsync runs it on the libuv thread pool. */
static int compute_root(const uint8_t *obj, size_t size, uint8_t out[32]) {
  size_t leaves = (size + LEAF_BYTES - 1) / LEAF_BYTES;
  uint8_t *level = malloc(leaves * 32);
  if (!level) return -1;
  SHA256_CTX ctx;
  const uint8_t leaf_tag = 0x00;
  for (size_t i = 0; i < leaves; i++) {
    size_t at = i * LEAF_BYTES, len = size - at < LEAF_BYTES ? size - at : LEAF_BYTES;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, &leaf_tag, 1);
    SHA256_Update(&ctx, obj + at, len);
    SHA256_Final(level + i * 32, &ctx);
  }
  /* Each level in place: node i of the next level only reads nodes 2i and 2i + 1 of this one. */
  for (size_t n = leaves; n > 1; n = (n + 1) / 2) {
    for (size_t i = 0; i < n / 2; i++) hash_node(level + 64 * i, level + 64 * i + 32, level + 32 * i);
    if (n % 2 == 1) memmove(level + 32 * (n / 2), level + 32 * (n - 1), 32);
  }
  uint8_t root_in[1 + 8 + 32];
  root_in[0] = 0x02;
  uint64_t s = (uint64_t)size;
  for (int b = 0; b < 8; b++) root_in[1 + b] = (uint8_t)(s >> (8 * b));
  memcpy(root_in + 9, level, 32);
  free(level);
  SHA256(root_in, sizeof root_in, out);
  return 0;
}

static napi_value bytes32(napi_env env, const uint8_t src[32]) {
  napi_value buf, arr;
  void *dst;
  if (napi_create_arraybuffer(env, 32, &dst, &buf) != napi_ok || napi_create_typedarray(env, napi_uint8_array, 32, buf, 0, &arr) != napi_ok) return NULL;
  memcpy(dst, src, 32);
  return arr;
}

static napi_value merkle_root(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *obj_p;
  size_t size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !typed(env, argv[0], napi_uint8_array, &obj_p, &size)) {
    return fail(env, "merkleRoot(object: Uint8Array)");
  }
  if (size == 0) return fail(env, "an empty object has no Merkle tree");
  uint8_t root[32];
  if (compute_root(obj_p, size, root) != 0) return fail(env, "out of memory");
  napi_value arr = bytes32(env, root);
  return arr ? arr : fail(env, "out of memory");
}

/* Direct writes move whole blocks of this many bytes (a page; a multiple of any disk's logical
 * block size), from memory aligned to it, at offsets that are multiples of it. */
#define DIRECT_ALIGN 4096

/* What every job on the libuv thread pool holds: its work, the promise it settles, and the bytes
 * it reads. Bytes in a SharedArrayBuffer are read where they are (such a buffer cannot be
 * detached; `keep` holds it alive); any other buffer could be transferred away while the pool
 * reads it, so its bytes are copied first, into page-aligned memory. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep;
  const uint8_t *data;
  uint8_t *owned;
  size_t size;
} pool_job;

/* Takes the bytes of `array` (whose data and buffer kind the caller looked up) for the job. */
static int hold_bytes(napi_env env, pool_job *job, napi_value array, void *data, size_t size, bool plain) {
  job->size = size;
  job->data = data;
  if (!plain) return napi_create_reference(env, array, 1, &job->keep) == napi_ok;
  if (size == 0) return 1;
  if (posix_memalign((void **)&job->owned, DIRECT_ALIGN, size) != 0) {
    job->owned = NULL;
    return 0;
  }
  memcpy(job->owned, data, size);
  job->data = job->owned;
  return 1;
}

/* Frees what a job holds, and the job itself (`job` is the start of the whole job struct). */
static void end_job(napi_env env, pool_job *job) {
  if (job->work) napi_delete_async_work(env, job->work);
  if (job->keep) napi_delete_reference(env, job->keep);
  free(job->owned);
  free(job);
}

/* Queues a job whose bytes are held; returns its promise, or throws `what` and frees the job. */
static napi_value queue_job(napi_env env, pool_job *job, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, const char *what) {
  napi_value promise, resource;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok || napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) != napi_ok ||
      napi_create_async_work(env, NULL, resource, execute, complete, job, &job->work) != napi_ok || napi_queue_async_work(env, job->work) != napi_ok) {
    /* Only reachable when the runtime itself is failing; the promise, if made, is left pending. */
    end_job(env, job);
    return fail(env, what);
  }
  return promise;
}

/* Resolves the job's promise with `value`, or (when NULL) rejects it with an Error of `message`
 * and, when given, `code`; then ends the job. */
static void settle(napi_env env, pool_job *job, napi_value value, const char *code, const char *message) {
  if (value) {
    napi_resolve_deferred(env, job->deferred, value);
  } else {
    napi_value msg, code_value = NULL, err;
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
    if (code) napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
    napi_create_error(env, code_value, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  }
  end_job(env, job);
}

/* One merkleRootAsync call. */
typedef struct {
  pool_job base;
  uint8_t root[32];
  int status;
} root_job;

static void root_execute(napi_env env, void *p) {
  (void)env;
  root_job *job = p;
  job->status = compute_root(job->base.data, job->base.size, job->root);
}

static void root_complete(napi_env env, napi_status status, void *p) {
  root_job *job = p;
  napi_value value = status == napi_ok && job->status == 0 ? bytes32(env, job->root) : NULL;
  settle(env, &job->base, value, NULL, status == napi_ok ? "out of memory" : "the Merkle root was cancelled");
}

static napi_value merkle_root_async(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *obj_p;
  size_t size;
  napi_value buffer;
  bool plain = true;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !typed_in(env, argv[0], napi_uint8_array, &obj_p, &size, &buffer) ||
      napi_is_arraybuffer(env, buffer, &plain) != napi_ok) {
    return fail(env, "merkleRootAsync(object: Uint8Array)");
  }
  if (size == 0) return fail(env, "an empty object has no Merkle tree");
  root_job *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "out of memory");
  if (!hold_bytes(env, &job->base, argv[0], obj_p, size, plain)) {
    end_job(env, &job->base);
    return fail(env, "out of memory");
  }
  return queue_job(env, &job->base, "quloud:merkleRoot", root_execute, root_complete, "the Merkle root could not be queued");
}

static napi_value copy(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *dst, *src;
  size_t dst_len, src_len;
  int64_t offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || !typed(env, argv[0], napi_uint8_array, &dst, &dst_len) ||
      !typed(env, argv[2], napi_uint8_array, &src, &src_len)) {
    return fail(env, "copy(target: Uint8Array, offset: number, source: Uint8Array)");
  }
  if (!whole(env, argv[1], (double)dst_len, &offset) || src_len > dst_len - (size_t)offset) return fail(env, "the source does not fit the target at that offset");
  memmove((uint8_t *)dst + offset, src, src_len);
  return NULL;
}

/* The five arguments of xchachaSeal, xchachaOpen, gcmSeal and gcmOpen: out, input, ad, nonce
 * (24 or 12 bytes: nonce_bytes), key(32). */
static int aead_args(napi_env env, napi_callback_info info, size_t nonce_bytes, uint8_t **out, size_t *out_len, uint8_t **in, size_t *in_len, uint8_t **ad, size_t *ad_len, uint8_t **nonce, uint8_t **key) {
  size_t argc = 5, nonce_len, key_len;
  napi_value argv[5];
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 5 && typed(env, argv[0], napi_uint8_array, (void **)out, out_len) &&
         typed(env, argv[1], napi_uint8_array, (void **)in, in_len) && typed(env, argv[2], napi_uint8_array, (void **)ad, ad_len) &&
         typed(env, argv[3], napi_uint8_array, (void **)nonce, &nonce_len) && nonce_len == nonce_bytes &&
         typed(env, argv[4], napi_uint8_array, (void **)key, &key_len) && key_len == AEAD_KEY_BYTES;
}

/* One AEAD's sealing and opening as called from JavaScript: the arguments checked (usage names
 * them in the TypeError), then the cipher; sealing fails only if OpenSSL does (`failure`), opening
 * returns whether the tag verified. */
typedef int (*aead_fn)(uint8_t *out, const uint8_t *in, size_t in_len, const uint8_t *ad, size_t ad_len, const uint8_t *nonce, const uint8_t *key);

static napi_value aead_seal_call(napi_env env, napi_callback_info info, size_t nonce_bytes, aead_fn seal, const char *usage, const char *failure) {
  uint8_t *out, *in, *ad, *nonce, *key;
  size_t out_len, in_len, ad_len;
  if (!aead_args(env, info, nonce_bytes, &out, &out_len, &in, &in_len, &ad, &ad_len, &nonce, &key) || out_len != in_len + AEAD_TAG_BYTES) return fail(env, usage);
  if (!seal(out, in, in_len, ad, ad_len, nonce, key)) return fail(env, failure);
  return NULL;
}

static napi_value aead_open_call(napi_env env, napi_callback_info info, size_t nonce_bytes, aead_fn open, const char *usage) {
  uint8_t *out, *in, *ad, *nonce, *key;
  size_t out_len, in_len, ad_len;
  napi_value result;
  if (!aead_args(env, info, nonce_bytes, &out, &out_len, &in, &in_len, &ad, &ad_len, &nonce, &key) || in_len < AEAD_TAG_BYTES || out_len != in_len - AEAD_TAG_BYTES) return fail(env, usage);
  napi_get_boolean(env, open(out, in, in_len, ad, ad_len, nonce, key) == 1, &result);
  return result;
}

static napi_value xchacha_seal_js(napi_env env, napi_callback_info info) {
  return aead_seal_call(env, info, AEAD_NONCE_BYTES, xchacha_seal, "xchachaSeal(out: Uint8Array(plain + 16), plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array(24), key: Uint8Array(32))",
                        "OpenSSL's ChaCha20-Poly1305 failed");
}

static napi_value xchacha_open_js(napi_env env, napi_callback_info info) {
  return aead_open_call(env, info, AEAD_NONCE_BYTES, xchacha_open, "xchachaOpen(out: Uint8Array(sealed - 16), sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array(24), key: Uint8Array(32))");
}

static napi_value gcm_seal_js(napi_env env, napi_callback_info info) {
  return aead_seal_call(env, info, GCM_NONCE_BYTES, gcm_seal, "gcmSeal(out: Uint8Array(plain + 16), plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array(12), key: Uint8Array(32))",
                        "OpenSSL's AES-256-GCM failed");
}

static napi_value gcm_open_js(napi_env env, napi_callback_info info) {
  return aead_open_call(env, info, GCM_NONCE_BYTES, gcm_open, "gcmOpen(out: Uint8Array(sealed - 16), sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array(12), key: Uint8Array(32))");
}

static napi_value gcm_in_hardware_js(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, gcm_in_hardware() == 1, &result);
  return result;
}

/* pageGap(bytes): how many bytes from bytes[0] to the next DIRECT_ALIGN boundary of memory (0
 * when it is on one), so a caller can carve an aligned view out of a buffer a little larger. */
static napi_value page_gap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  void *data;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !typed(env, argv[0], napi_uint8_array, &data, &len)) {
    return fail(env, "pageGap(bytes: Uint8Array)");
  }
  uintptr_t rem = (uintptr_t)data % DIRECT_ALIGN;
  napi_create_uint32(env, rem == 0 ? 0 : (uint32_t)(DIRECT_ALIGN - rem), &out);
  return out;
}

/* Unaligned bytes go through a per-thread bounce buffer this big (allocated by a pool thread the
 * first time it needs one, kept for the life of the process: reused memory costs no page faults). */
#define BOUNCE_BYTES (4u << 20)
static _Thread_local uint8_t *bounce;

/* One writeAll call. */
typedef struct {
  pool_job base;
  int fd;
  size_t direct_bytes;
  int err;
} write_job;

/* Writes all of `data` at file offset `at` (through the page cache unless `fd` has O_DIRECT). */
static int pwrite_all(int fd, const uint8_t *data, size_t size, off_t at) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = pwrite(fd, data + off, size - off, at + (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    off += (size_t)n;
  }
  return 0;
}

static void write_execute(napi_env env, void *p) {
  (void)env;
  write_job *job = p;
  int flags = fcntl(job->fd, F_GETFL);
  if (flags < 0) {
    job->err = errno;
    return;
  }
  size_t off = 0;
#ifdef O_DIRECT
  if (flags & O_DIRECT) {
    while (job->base.size - off >= DIRECT_ALIGN) {
      size_t n = (job->base.size - off) & ~(size_t)(DIRECT_ALIGN - 1);
      const uint8_t *from = job->base.data + off;
      if ((uintptr_t)from % DIRECT_ALIGN != 0) {
        /* Made the first time a thread meets unaligned bytes: aligned pack memory needs none. */
        if (!bounce && posix_memalign((void **)&bounce, DIRECT_ALIGN, BOUNCE_BYTES) != 0) {
          bounce = NULL;
          break; /* no memory for it: the rest goes buffered */
        }
        if (n > BOUNCE_BYTES) n = BOUNCE_BYTES;
        memcpy(bounce, from, n);
        from = bounce;
      }
      ssize_t w = pwrite(job->fd, from, n, (off_t)off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EINVAL) break; /* this file system takes no direct I/O (here) */
      if (w <= 0) {
        job->err = w < 0 ? errno : EIO;
        return;
      }
      off += (size_t)w;
      if ((size_t)w % DIRECT_ALIGN != 0) break; /* a short, unaligned write: the rest goes buffered */
    }
    job->direct_bytes = off;
    /* The last partial block (or all of it, if refused) through the page cache. */
    if (off < job->base.size && fcntl(job->fd, F_SETFL, flags & ~O_DIRECT) != 0) {
      job->err = errno;
      return;
    }
  }
#endif
  job->err = pwrite_all(job->fd, job->base.data + off, job->base.size - off, (off_t)off);
}

static const char *errno_name(int e) {
  switch (e) {
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EBADF: return "EBADF";
    case EROFS: return "EROFS";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EISDIR: return "EISDIR";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EXDEV: return "EXDEV";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: return "EIO";
  }
}

/* Settles an I/O job: resolves with `count` bytes, or rejects with the errno name and message
 * of `err` (or `cancelled` when the job never ran). */
static void settle_count(napi_env env, pool_job *base, napi_status status, int err, size_t count, const char *cancelled) {
  napi_value value = NULL;
  if (status == napi_ok && err == 0 && napi_create_double(env, (double)count, &value) != napi_ok) value = NULL;
  settle(env, base, value, errno_name(err), status != napi_ok ? cancelled : strerror(err));
}

static void write_complete(napi_env env, napi_status status, void *p) {
  write_job *job = p;
  settle_count(env, &job->base, status, job->err, job->direct_bytes, "the write was cancelled");
}

static napi_value write_all(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data;
  size_t size;
  napi_value buffer;
  bool plain = true;
  int64_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || !whole(env, argv[0], 2147483647.0, &fd) ||
      !typed_in(env, argv[1], napi_uint8_array, &data, &size, &buffer) || napi_is_arraybuffer(env, buffer, &plain) != napi_ok) {
    return fail(env, "writeAll(fd: number, bytes: Uint8Array)");
  }
  write_job *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "out of memory");
  job->fd = (int)fd;
  /* Copied bytes are page-aligned, so a direct write needs no bounce buffer for them. */
  if (!hold_bytes(env, &job->base, argv[1], data, size, plain)) {
    end_job(env, &job->base);
    return fail(env, "out of memory");
  }
  return queue_job(env, &job->base, "quloud:writeAll", write_execute, write_complete, "the write could not be queued");
}

/* One writeAt call. Copied bytes sit at the same distance from a page boundary in memory as
 * `offset` is from one in the file, so the aligned blocks inside the range are aligned in memory
 * too and go to the device from where they are. */
typedef struct {
  pool_job base;
  int fd, direct_fd;
  off_t offset;
  size_t direct_bytes;
  int err;
} write_at_job;

static void write_at_execute(napi_env env, void *p) {
  (void)env;
  write_at_job *job = p;
  const uint8_t *data = job->base.data;
  size_t size = job->base.size;
  off_t at = job->offset;
  /* The aligned interior [lo, hi) of [at, at + size), as offsets into `data`. */
  size_t lo = (size_t)((DIRECT_ALIGN - (uint64_t)at % DIRECT_ALIGN) % DIRECT_ALIGN);
  size_t hi = lo;
  if (job->direct_fd >= 0 && size > lo) hi = lo + ((size - lo) & ~(size_t)(DIRECT_ALIGN - 1));
  size_t done = lo;
  while (done < hi) {
    size_t n = hi - done;
    const uint8_t *from = data + done;
    if ((uintptr_t)from % DIRECT_ALIGN != 0) {
      if (!bounce && posix_memalign((void **)&bounce, DIRECT_ALIGN, BOUNCE_BYTES) != 0) {
        bounce = NULL;
        break;
      }
      if (n > BOUNCE_BYTES) n = BOUNCE_BYTES;
      memcpy(bounce, from, n);
      from = bounce;
    }
    ssize_t w = pwrite(job->direct_fd, from, n, at + (off_t)done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EINVAL) break; /* no direct I/O here: the rest of the interior goes buffered */
    if (w <= 0) {
      job->err = w < 0 ? errno : EIO;
      return;
    }
    if ((size_t)w % DIRECT_ALIGN != 0) {
      /* A short, unaligned write: what it wrote stays, the rest goes buffered. */
      done += (size_t)w;
      break;
    }
    done += (size_t)w;
  }
  job->direct_bytes = done - lo;
  /* The head, whatever of the interior did not go direct, and the tail, through the page cache. */
  if ((job->err = pwrite_all(job->fd, data, lo < size ? lo : size, at)) != 0) return;
  if (done < size) job->err = pwrite_all(job->fd, data + done, size - done, at + (off_t)done);
}

static void write_at_complete(napi_env env, napi_status status, void *p) {
  write_at_job *job = p;
  settle_count(env, &job->base, status, job->err, job->direct_bytes, "the write was cancelled");
}

static napi_value write_at(napi_env env, napi_callback_info info) {
  static const char *usage = "writeAt(fd: number, directFd: number, offset: number, bytes: Uint8Array)";
  size_t argc = 4;
  napi_value argv[4];
  void *data;
  size_t size;
  napi_value buffer;
  bool plain = true;
  int64_t fd, offset;
  int32_t direct_fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 || !whole(env, argv[0], 2147483647.0, &fd) ||
      napi_get_value_int32(env, argv[1], &direct_fd) != napi_ok || direct_fd < -1 || !whole(env, argv[2], 9007199254740991.0, &offset) ||
      !typed_in(env, argv[3], napi_uint8_array, &data, &size, &buffer) || napi_is_arraybuffer(env, buffer, &plain) != napi_ok) {
    return fail(env, usage);
  }
  write_at_job *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "out of memory");
  job->fd = (int)fd;
  job->direct_fd = direct_fd;
  job->offset = (off_t)offset;
  job->base.size = size;
  job->base.data = data;
  if (!plain) {
    if (napi_create_reference(env, argv[3], 1, &job->base.keep) != napi_ok) {
      end_job(env, &job->base);
      return fail(env, "out of memory");
    }
  } else if (size > 0) {
    size_t phase = (size_t)((uint64_t)offset % DIRECT_ALIGN);
    if (posix_memalign((void **)&job->base.owned, DIRECT_ALIGN, phase + size) != 0) {
      job->base.owned = NULL;
      end_job(env, &job->base);
      return fail(env, "out of memory");
    }
    memcpy(job->base.owned + phase, data, size);
    job->base.data = job->base.owned + phase;
  }
  return queue_job(env, &job->base, "quloud:writeAt", write_at_execute, write_at_complete, "the write could not be queued");
}

/* One readAt call: `base.data` is the caller's memory, written in place (held by `base.keep`). */
typedef struct {
  pool_job base;
  int fd;
  off_t offset;
  size_t got;
  int err;
} read_at_job;

static void read_at_execute(napi_env env, void *p) {
  (void)env;
  read_at_job *job = p;
  uint8_t *into = (uint8_t *)job->base.data;
  size_t size = job->base.size, done = 0;
  int flags = fcntl(job->fd, F_GETFL);
  if (flags < 0) {
    job->err = errno;
    return;
  }
#ifdef O_DIRECT
  if ((flags & O_DIRECT) && size > 0) {
    /* Memory and file offset a whole number of blocks apart: the aligned middle of the range is
     * read straight into `into`; only a partial block at either end goes through the bounce. */
    const bool congruent = (uintptr_t)into % DIRECT_ALIGN == (uintptr_t)(job->offset % DIRECT_ALIGN);
    if (!bounce && posix_memalign((void **)&bounce, DIRECT_ALIGN, BOUNCE_BYTES) != 0) bounce = NULL;
    while (bounce && done < size) {
      off_t pos = job->offset + (off_t)done;
      if (congruent && pos % DIRECT_ALIGN == 0 && size - done >= DIRECT_ALIGN) {
        size_t want = (size - done) & ~(size_t)(DIRECT_ALIGN - 1);
        ssize_t n = pread(job->fd, into + done, want, pos);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EINVAL) break;
        if (n < 0) {
          job->err = errno;
          return;
        }
        done += (size_t)n;
        if ((size_t)n < want) {
          job->got = done; /* the end of the file */
          return;
        }
        continue;
      }
      off_t start = pos - pos % DIRECT_ALIGN;
      size_t skip = (size_t)(pos - start);
      size_t want = (skip + (size - done) + DIRECT_ALIGN - 1) & ~(size_t)(DIRECT_ALIGN - 1);
      if (congruent && want > DIRECT_ALIGN) want = DIRECT_ALIGN; /* the head: up to the next block */
      if (want > BOUNCE_BYTES) want = BOUNCE_BYTES;
      ssize_t n = pread(job->fd, bounce, want, start);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EINVAL) break; /* no direct I/O here: the rest through the page cache */
      if (n < 0) {
        job->err = errno;
        return;
      }
      if ((size_t)n <= skip) {
        job->got = done; /* the end of the file */
        return;
      }
      size_t take = (size_t)n - skip;
      if (take > size - done) take = size - done;
      memcpy(into + done, bounce + skip, take);
      done += take;
      if ((size_t)n < want) {
        job->got = done;
        return;
      }
    }
    if (done < size && fcntl(job->fd, F_SETFL, flags & ~O_DIRECT) != 0) {
      job->err = errno;
      return;
    }
  }
#endif
  while (done < size) {
    ssize_t n = pread(job->fd, into + done, size - done, job->offset + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      job->err = errno;
      return;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  job->got = done;
}

static void read_at_complete(napi_env env, napi_status status, void *p) {
  read_at_job *job = p;
  settle_count(env, &job->base, status, job->err, job->got, "the read was cancelled");
}

static napi_value read_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data;
  size_t size;
  int64_t fd, offset;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || !whole(env, argv[0], 2147483647.0, &fd) ||
      !whole(env, argv[1], 9007199254740991.0, &offset) || !typed(env, argv[2], napi_uint8_array, &data, &size)) {
    return fail(env, "readAt(fd: number, offset: number, into: Uint8Array)");
  }
  read_at_job *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "out of memory");
  job->fd = (int)fd;
  job->offset = (off_t)offset;
  job->base.data = data;
  job->base.size = size;
  if (napi_create_reference(env, argv[2], 1, &job->base.keep) != napi_ok) {
    end_job(env, &job->base);
    return fail(env, "out of memory");
  }
  return queue_job(env, &job->base, "quloud:readAt", read_at_execute, read_at_complete, "the read could not be queued");
}

/* One finishFile or writeFile call. The paths live in the same allocation as the job, which
 * end_job frees. */
typedef struct {
  pool_job base;
  int fd;
  mode_t mode;
  struct timespec times[2];
  char *from, *to;
  const char *name; /* the call, for messages */
  const char *step;
  int err;
} finish_job;

/* fchmod, futimens, close (always: the descriptor is never used again), rename: the steps that
 * finish a written file. */
static void finish_steps(finish_job *job) {
  if (fchmod(job->fd, job->mode) != 0) job->step = "fchmod", job->err = errno;
  else if (futimens(job->fd, job->times) != 0) job->step = "futimens", job->err = errno;
  if (close(job->fd) != 0 && !job->err && errno != EINTR) job->step = "close", job->err = errno;
  if (!job->err && rename(job->from, job->to) != 0) job->step = "rename", job->err = errno;
}

static void finish_execute(napi_env env, void *p) {
  (void)env;
  finish_steps(p);
}

static void whole_execute(napi_env env, void *p) {
  (void)env;
  finish_job *job = p;
  job->fd = open(job->from, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (job->fd < 0) {
    job->step = "open", job->err = errno;
    return;
  }
  if ((job->err = pwrite_all(job->fd, job->base.data, job->base.size, 0)) != 0) {
    job->step = "write";
    close(job->fd);
  } else {
    finish_steps(job);
  }
  /* A file that did not reach its name is not left behind under the temporary one. */
  if (job->err) unlink(job->from);
}

static void finish_complete(napi_env env, napi_status status, void *p) {
  finish_job *job = p;
  napi_value value = NULL;
  char message[160];
  if (status == napi_ok && job->err == 0) napi_get_undefined(env, &value);
  snprintf(message, sizeof message, "%s: %s", job->step ? job->step : job->name, status != napi_ok ? "cancelled" : strerror(job->err));
  settle(env, &job->base, value, errno_name(job->err), message);
}

/* The byte length of a string argument (without NUL), or -1. */
static long string_len(napi_env env, napi_value v) {
  size_t len;
  return napi_get_value_string_utf8(env, v, NULL, 0, &len) == napi_ok && len > 0 && len < 65536 ? (long)len : -1;
}

/* A job for the paths `from_v` and `to_v` (checked here), `mode` and both times set to mtimeMs
 * (to the microsecond: a double of milliseconds since 1970 holds no finer digits); NULL with an
 * exception pending on bad paths or no memory. */
static finish_job *new_finish_job(napi_env env, napi_value from_v, napi_value to_v, int64_t mode, double mtime_ms, const char *name, const char *usage) {
  long from_len = string_len(env, from_v), to_len = string_len(env, to_v);
  if (from_len < 0 || to_len < 0) return fail(env, usage), NULL;
  finish_job *job = calloc(1, sizeof *job + (size_t)from_len + (size_t)to_len + 2);
  if (!job) return fail(env, "out of memory"), NULL;
  size_t got;
  job->from = (char *)(job + 1);
  job->to = job->from + from_len + 1;
  napi_get_value_string_utf8(env, from_v, job->from, (size_t)from_len + 1, &got);
  napi_get_value_string_utf8(env, to_v, job->to, (size_t)to_len + 1, &got);
  job->mode = (mode_t)mode;
  job->name = name;
  double sec = floor(mtime_ms / 1000);
  long nsec = lround((mtime_ms - sec * 1000) * 1e3) * 1000;
  if (nsec >= 1000000000L) sec += 1, nsec -= 1000000000L;
  job->times[0].tv_sec = job->times[1].tv_sec = (time_t)sec;
  job->times[0].tv_nsec = job->times[1].tv_nsec = nsec;
  return job;
}

static napi_value finish_file(napi_env env, napi_callback_info info) {
  static const char *usage = "finishFile(fd: number, mode: number, mtimeMs: number, from: string, to: string)";
  size_t argc = 5;
  napi_value argv[5];
  int64_t fd, mode;
  double mtime_ms;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !whole(env, argv[0], 2147483647.0, &fd) || !whole(env, argv[1], 07777, &mode) ||
      napi_get_value_double(env, argv[2], &mtime_ms) != napi_ok || !isfinite(mtime_ms)) {
    return fail(env, usage);
  }
  finish_job *job = new_finish_job(env, argv[3], argv[4], mode, mtime_ms, "finishFile", usage);
  if (!job) return NULL;
  job->fd = (int)fd;
  return queue_job(env, &job->base, "quloud:finishFile", finish_execute, finish_complete, "the file could not be finished");
}

static napi_value write_file(napi_env env, napi_callback_info info) {
  static const char *usage = "writeFile(from: string, to: string, bytes: Uint8Array, mode: number, mtimeMs: number)";
  size_t argc = 5;
  napi_value argv[5], buffer;
  void *data;
  size_t size;
  bool plain = true;
  int64_t mode;
  double mtime_ms;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5 || !typed_in(env, argv[2], napi_uint8_array, &data, &size, &buffer) ||
      napi_is_arraybuffer(env, buffer, &plain) != napi_ok || !whole(env, argv[3], 07777, &mode) || napi_get_value_double(env, argv[4], &mtime_ms) != napi_ok ||
      !isfinite(mtime_ms)) {
    return fail(env, usage);
  }
  finish_job *job = new_finish_job(env, argv[0], argv[1], mode, mtime_ms, "writeFile", usage);
  if (!job) return NULL;
  /* Bytes in a plain buffer are copied now: the caller may reuse its memory at once. */
  if (!hold_bytes(env, &job->base, argv[2], data, size, plain)) {
    end_job(env, &job->base);
    return fail(env, "out of memory");
  }
  return queue_job(env, &job->base, "quloud:writeFile", whole_execute, finish_complete, "the file could not be queued");
}

/* trimMemory(): gives the C heap's free pages back to the system (glibc's malloc_trim(0), which
 * walks every arena); true when some were given back. Elsewhere (musl, ...) it does nothing: false. */
static napi_value trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) != 0, &out);
#else
  napi_get_boolean(env, false, &out);
#endif
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "writeAll", NAPI_AUTO_LENGTH, write_all, NULL, &fn);
  napi_set_named_property(env, exports, "writeAll", fn);
  napi_create_function(env, "readAt", NAPI_AUTO_LENGTH, read_at, NULL, &fn);
  napi_set_named_property(env, exports, "readAt", fn);
  napi_create_function(env, "writeAt", NAPI_AUTO_LENGTH, write_at, NULL, &fn);
  napi_set_named_property(env, exports, "writeAt", fn);
  napi_create_function(env, "finishFile", NAPI_AUTO_LENGTH, finish_file, NULL, &fn);
  napi_set_named_property(env, exports, "finishFile", fn);
  napi_create_function(env, "writeFile", NAPI_AUTO_LENGTH, write_file, NULL, &fn);
  napi_set_named_property(env, exports, "writeFile", fn);
  napi_create_function(env, "gearCut", NAPI_AUTO_LENGTH, gear_cut, NULL, &fn);
  napi_set_named_property(env, exports, "gearCut", fn);
  napi_create_function(env, "merkleRoot", NAPI_AUTO_LENGTH, merkle_root, NULL, &fn);
  napi_set_named_property(env, exports, "merkleRoot", fn);
  napi_create_function(env, "merkleRootAsync", NAPI_AUTO_LENGTH, merkle_root_async, NULL, &fn);
  napi_set_named_property(env, exports, "merkleRootAsync", fn);
  napi_create_function(env, "copy", NAPI_AUTO_LENGTH, copy, NULL, &fn);
  napi_set_named_property(env, exports, "copy", fn);
  napi_create_function(env, "trimMemory", NAPI_AUTO_LENGTH, trim_memory, NULL, &fn);
  napi_set_named_property(env, exports, "trimMemory", fn);
  napi_create_function(env, "xchachaSeal", NAPI_AUTO_LENGTH, xchacha_seal_js, NULL, &fn);
  napi_set_named_property(env, exports, "xchachaSeal", fn);
  napi_create_function(env, "xchachaOpen", NAPI_AUTO_LENGTH, xchacha_open_js, NULL, &fn);
  napi_set_named_property(env, exports, "xchachaOpen", fn);
  napi_create_function(env, "gcmSeal", NAPI_AUTO_LENGTH, gcm_seal_js, NULL, &fn);
  napi_set_named_property(env, exports, "gcmSeal", fn);
  napi_create_function(env, "gcmOpen", NAPI_AUTO_LENGTH, gcm_open_js, NULL, &fn);
  napi_set_named_property(env, exports, "gcmOpen", fn);
  napi_create_function(env, "gcmInHardware", NAPI_AUTO_LENGTH, gcm_in_hardware_js, NULL, &fn);
  napi_set_named_property(env, exports, "gcmInHardware", fn);
  napi_create_function(env, "pageGap", NAPI_AUTO_LENGTH, page_gap, NULL, &fn);
  napi_set_named_property(env, exports, "pageGap", fn);
  return exports;
}
