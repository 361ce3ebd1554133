/* Node-API binding: the two hot loops of ingest, in C.
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
 *   copy(target, offset, source) -> undefined
 *     target.set(source, offset) as one memcpy: V8 copies to or from shared memory word by word
 *     (about 1 GB/s here), and the main thread copies every sealed chunk into its pack that way.
 *
 * All are synchronous: they run on the calling thread. Typed arrays may be backed by a
 * SharedArrayBuffer; the caller must not change the bytes during the call. */
#include <node_api.h>
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3 in favour of EVP, which costs far more per
 * 4 KiB leaf; Node exports both. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LEAF_BYTES 4096

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != want) return 0;
  return 1;
}

static int whole(napi_env env, napi_value v, double max, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= max) || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
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
    const uint8_t *p = data + start + min, *normal_end = data + start + normal, *limit_end = data + start + limit;
    cut = limit;
    for (; p < normal_end; p++) {
      h = (h << 1) + (uint32_t)gear[*p];
      if ((h & small) == 0) { cut = p - (data + start) + 1; goto done; }
    }
    for (; p < limit_end; p++) {
      h = (h << 1) + (uint32_t)gear[*p];
      if ((h & large) == 0) { cut = p - (data + start) + 1; goto done; }
    }
  }
done:;
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

static napi_value merkle_root(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *obj_p;
  size_t size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !typed(env, argv[0], napi_uint8_array, &obj_p, &size)) {
    return fail(env, "merkleRoot(object: Uint8Array)");
  }
  if (size == 0) return fail(env, "an empty object has no Merkle tree");
  const uint8_t *obj = obj_p;
  size_t leaves = (size + LEAF_BYTES - 1) / LEAF_BYTES;
  uint8_t *level = malloc(leaves * 32);
  if (!level) return fail(env, "out of memory");
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
  napi_value buf, arr;
  void *dst;
  if (napi_create_arraybuffer(env, 32, &dst, &buf) != napi_ok || napi_create_typedarray(env, napi_uint8_array, 32, buf, 0, &arr) != napi_ok) return fail(env, "out of memory");
  SHA256(root_in, sizeof root_in, dst);
  return arr;
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

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "gearCut", NAPI_AUTO_LENGTH, gear_cut, NULL, &fn);
  napi_set_named_property(env, exports, "gearCut", fn);
  napi_create_function(env, "merkleRoot", NAPI_AUTO_LENGTH, merkle_root, NULL, &fn);
  napi_set_named_property(env, exports, "merkleRoot", fn);
  napi_create_function(env, "copy", NAPI_AUTO_LENGTH, copy, NULL, &fn);
  napi_set_named_property(env, exports, "copy", fn);
  return exports;
}
