/* The Groth16 prover's quotient scalars (see msm.h): the QAP's A·w and B·w from the proving key's
 * coefficients, C = A∘B, each moved to the odd coset of the 2n-th roots of unity (inverse FFT,
 * times g^i with g a primitive 2n-th root, FFT), then A∘B − C there. This is what snarkjs computes
 * (ffjavascript's Fr FFTs on the roots it derives, wasmcurves's qap_joinABC), in portable C with
 * Montgomery arithmetic over the scalar field r (R = 2^256). Not constant-time: the witness is the
 * prover's own, on the owner's machine, like the multi-exponentiations. */
#include "msm.h"
#include "mont.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef unsigned __int128 u128;
typedef struct { u64 v[4]; } fr;

/* r = 21888242871839275222246405745257275088548364400416034343698204186575808495617 */
static const u64 R[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};

/* Constants derived once from r (fr_init): -r^-1 mod 2^64, 2^512 mod r, the Montgomery one, and
 * ffjavascript's roots of unity W[k] (primitive 2^k-th: nqr^t squared down, nqr the least
 * quadratic non-residue from 2, r - 1 = t·2^s). */
static u64 RINV;
static fr R2, MONT_ONE;
enum { TWO_ADICITY = 28 };
static fr W[TWO_ADICITY + 1];

static inline void fr_add(fr *o, const fr *a, const fr *b) { mont_add(o->v, a->v, b->v, R); }
static inline void fr_sub(fr *o, const fr *a, const fr *b) { mont_sub(o->v, a->v, b->v, R); }

/* Montgomery product a·b/2^256 mod r (mont.h). Inputs below 2^256 and one of them below r give a
 * result below r. */
static inline void fr_mul(fr *o, const fr *a, const fr *b) { mont_mul(o->v, a->v, b->v, R, RINV); }

/* base^e (Montgomery in and out), e as four little-endian limbs. */
static void fr_pow(fr *o, const fr *base, const u64 e[4]) {
  fr acc = MONT_ONE;
  for (int i = 255; i >= 0; i--) {
    fr_mul(&acc, &acc, &acc);
    if ((e[i >> 6] >> (i & 63)) & 1) fr_mul(&acc, &acc, base);
  }
  *o = acc;
}

static inline int fr_eq(const fr *a, const fr *b) { return memcmp(a->v, b->v, 32) == 0; }

static void fr_from_u64(fr *o, u64 x) {
  fr plain = {{x, 0, 0, 0}};
  fr_mul(o, &plain, &R2);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void fr_init(void) {
  u64 inv = 1; /* Newton's iteration for r0^-1 mod 2^64: each step doubles the correct bits */
  for (int i = 0; i < 6; i++) inv *= 2 - R[0] * inv;
  RINV = (u64)0 - inv;
  fr x = {{1, 0, 0, 0}}; /* 2^512 mod r by doubling */
  for (int i = 0; i < 512; i++) fr_add(&x, &x, &x);
  R2 = x;
  fr one = {{1, 0, 0, 0}};
  fr_mul(&MONT_ONE, &one, &R2);
  u64 half[4], t[4], minus_one_e[4];
  /* (r - 1) / 2 and t = (r - 1) / 2^28 */
  memcpy(minus_one_e, R, 32);
  minus_one_e[0] -= 1;
  for (int i = 0; i < 4; i++) half[i] = (minus_one_e[i] >> 1) | (i < 3 ? minus_one_e[i + 1] << 63 : 0);
  for (int i = 0; i < 4; i++) t[i] = (minus_one_e[i] >> TWO_ADICITY) | (i < 3 ? minus_one_e[i + 1] << (64 - TWO_ADICITY) : 0);
  fr minus_one, zero = {{0, 0, 0, 0}};
  fr_sub(&minus_one, &zero, &MONT_ONE);
  fr nqr;
  for (u64 k = 2;; k++) {
    fr e;
    fr_from_u64(&nqr, k);
    fr_pow(&e, &nqr, half);
    if (fr_eq(&e, &minus_one)) break;
  }
  fr_pow(&W[TWO_ADICITY], &nqr, t);
  for (int k = TWO_ADICITY - 1; k >= 0; k--) fr_mul(&W[k], &W[k + 1], &W[k + 1]);
}

/* In-place DFT of size 2^bits in natural order: out[k] = Σ a[i]·W[bits]^(ik). `tw` holds
 * W[bits]^j for j < 2^(bits-1). */
static void ntt(fr *a, unsigned bits, const fr *tw) {
  size_t n = (size_t)1 << bits;
  for (size_t i = 1, j = 0; i < n; i++) { /* bit-reversal permutation */
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) {
      fr t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    size_t half = len >> 1, step = n / len;
    for (size_t i = 0; i < n; i += len) {
      for (size_t j = 0; j < half; j++) {
        fr u = a[i + j], v;
        fr_mul(&v, &a[i + j + half], &tw[j * step]);
        fr_add(&a[i + j], &u, &v);
        fr_sub(&a[i + j + half], &u, &v);
      }
    }
  }
}

/* The values of a polynomial given on the n-th roots of unity, on the coset g·<W[bits]> instead
 * (g = W[bits+1]): inverse DFT (the DFT, reversed, times 1/n), times g^i, DFT. */
static void to_odd_coset(fr *a, unsigned bits, const fr *tw, const fr *inv_n) {
  size_t n = (size_t)1 << bits;
  ntt(a, bits, tw);
  for (size_t i = 1; i < n - i; i++) {
    fr t = a[i];
    a[i] = a[n - i];
    a[n - i] = t;
  }
  fr g = W[bits + 1], gi = *inv_n; /* 1/n folded into the coset factors */
  for (size_t i = 0; i < n; i++) {
    fr_mul(&a[i], &a[i], &gi);
    fr_mul(&gi, &gi, &g);
  }
  ntt(a, bits, tw);
}

/* The witness and the QAP's values derived from it (the witness holds the owner's proofKey) are
 * wiped before their memory goes back. */
static void wipe_free(void *bytes, size_t len) {
  volatile uint8_t *p = bytes;
  for (size_t i = 0; p != NULL && i < len; i++) p[i] = 0;
  free(bytes);
}

static u64 u32_at(const uint8_t *p) { return (u64)p[0] | (u64)p[1] << 8 | (u64)p[2] << 16 | (u64)p[3] << 24; }

int bn254_groth16_quotient(uint8_t *out, const uint8_t *coefs, size_t coefs_len, const uint8_t *witness, size_t nvars, unsigned bits) {
  if (bits == 0 || bits >= TWO_ADICITY || coefs_len < 4) return -2;
  pthread_once(&init_once, fr_init);
  size_t n = (size_t)1 << bits;
  size_t count = (size_t)u32_at(coefs);
  if (count > (coefs_len - 4) / 44 || (coefs_len - 4) % 44 != 0 || count != (coefs_len - 4) / 44) return -2;
  fr *a = calloc(3 * n, sizeof(fr));
  fr *w = malloc(nvars * sizeof(fr) + 1);
  fr *tw = malloc((n / 2) * sizeof(fr) + sizeof(fr));
  if (!a || !w || !tw) {
    wipe_free(a, a ? 3 * n * sizeof(fr) : 0);
    wipe_free(w, 0);
    free(tw);
    return -1;
  }
  fr *b = a + n, *c = a + 2 * n;
  memcpy(w, witness, nvars * 32);
  /* A·w and B·w: the key holds each coefficient as v·2^512 mod r, so its Montgomery product with
   * a plain witness value is the Montgomery form of v·w. */
  for (size_t i = 0; i < count; i++) {
    const uint8_t *e = coefs + 4 + i * 44;
    u64 m = u32_at(e), row = u32_at(e + 4), signal = u32_at(e + 8);
    if (m > 1 || row >= n || signal >= nvars) {
      wipe_free(a, 3 * n * sizeof(fr));
      wipe_free(w, nvars * sizeof(fr));
      free(tw);
      return -2;
    }
    fr v, p;
    memcpy(v.v, e + 12, 32);
    fr_mul(&p, &v, &w[signal]);
    fr *acc = m == 0 ? &a[row] : &b[row];
    fr_add(acc, acc, &p);
  }
  for (size_t i = 0; i < n; i++) fr_mul(&c[i], &a[i], &b[i]);
  tw[0] = MONT_ONE;
  for (size_t j = 1; j < n / 2; j++) fr_mul(&tw[j], &tw[j - 1], &W[bits]);
  fr inv_n, n_mont;
  fr_from_u64(&n_mont, n);
  u64 r_minus_2[4];
  memcpy(r_minus_2, R, 32);
  r_minus_2[0] -= 2;
  fr_pow(&inv_n, &n_mont, r_minus_2);
  to_odd_coset(a, bits, tw, &inv_n);
  to_odd_coset(b, bits, tw, &inv_n);
  to_odd_coset(c, bits, tw, &inv_n);
  /* A∘B − C on the coset, out of Montgomery form, little-endian */
  fr plain_one = {{1, 0, 0, 0}};
  for (size_t i = 0; i < n; i++) {
    fr h;
    fr_mul(&h, &a[i], &b[i]);
    fr_sub(&h, &h, &c[i]);
    fr_mul(&h, &h, &plain_one);
    memcpy(out + i * 32, h.v, 32);
  }
  wipe_free(a, 3 * n * sizeof(fr));
  wipe_free(w, nvars * sizeof(fr));
  free(tw);
  return 0;
}
