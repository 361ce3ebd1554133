/* BN254 field and curve arithmetic for the prover's multi-scalar multiplications (see msm.h),
 * included by msm-portable.c and msm-adx.c, each with its own field multiplication and names.
 * Montgomery multiplication (CIOS, 4 x 64-bit limbs), Jacobian coordinates, Pippenger's bucket
 * method. Inputs are public proving-key points and the prover's own witness; like snarkjs's WASM
 * code this is not constant-time, which is fine for a prover running on the owner's machine. */
#include "msm.h"
#include "mont.h"
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef unsigned __int128 u128;

/* p = 21888242871839275222246405745257275088696311157297823662689037894645226208583 */
static const u64 P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
static const u64 PINV = 0x87d20782e4866389ULL; /* -p^-1 mod 2^64 */
/* R mod p, the Montgomery form of 1: 2^256 - 5p. */
static const u64 ONE[4] = {0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL};

typedef struct { u64 v[4]; } fp;
typedef struct { fp c0, c1; } fp2;

/* r = a - p if a >= p, else a; branch-free (a < 2p). */
static inline void fp_reduce_once(u64 r[4], const u64 a[4]) { mont_reduce_once(r, a, P); }

static inline void fp_add(fp *r, const fp *a, const fp *b) { mont_add(r->v, a->v, b->v, P); }
static inline void fp_sub(fp *r, const fp *a, const fp *b) { mont_sub(r->v, a->v, b->v, P); }
static inline void fp_dbl(fp *r, const fp *a) { fp_add(r, a, a); }
#if QULOUD_MSM_ADX
/* Montgomery product a * b / 2^256 mod p with BMI2 and ADX (mulx, adcx, adox: two carry chains),
 * the same CIOS steps as the portable version. Each round adds a * b[i] to t, then m * p with
 * m = t0 * -p^-1, and drops the (zero) low limb: the five t registers rotate. p < 2^254 keeps
 * every intermediate below 2^320, so the carries into the top limb never overflow. */
#define MONT_ROUND(I, T0, T1, T2, T3, T4)                                                        \
  "movq " #I "*8(%[b]), %%rdx\n\t"                                                              \
  "xorl %%" #T4 "d, %%" #T4 "d\n\t"                                                             \
  "mulxq 0(%[a]), %%rax, %%rbx\n\t" "adcxq %%rax, %%" #T0 "\n\t" "adoxq %%rbx, %%" #T1 "\n\t"   \
  "mulxq 8(%[a]), %%rax, %%rbx\n\t" "adcxq %%rax, %%" #T1 "\n\t" "adoxq %%rbx, %%" #T2 "\n\t"   \
  "mulxq 16(%[a]), %%rax, %%rbx\n\t" "adcxq %%rax, %%" #T2 "\n\t" "adoxq %%rbx, %%" #T3 "\n\t"  \
  "mulxq 24(%[a]), %%rax, %%rbx\n\t" "adcxq %%rax, %%" #T3 "\n\t" "adoxq %%rbx, %%" #T4 "\n\t"  \
  "adcxq %%r13, %%" #T4 "\n\t"                                                                  \
  "movq %%" #T0 ", %%rdx\n\t"                                                                   \
  "imulq %%r14, %%rdx\n\t"                                                                      \
  "xorl %%eax, %%eax\n\t"                                                                       \
  "mulxq 0(%[p]), %%rax, %%rbx\n\t" "adcxq %%" #T0 ", %%rax\n\t" "adoxq %%rbx, %%" #T1 "\n\t"   \
  "mulxq 8(%[p]), %%rax, %%rbx\n\t" "adcxq %%rax, %%" #T1 "\n\t" "adoxq %%rbx, %%" #T2 "\n\t"   \
  "mulxq 16(%[p]), %%rax, %%rbx\n\t" "adcxq %%rax, %%" #T2 "\n\t" "adoxq %%rbx, %%" #T3 "\n\t"  \
  "mulxq 24(%[p]), %%rax, %%rbx\n\t" "adcxq %%rax, %%" #T3 "\n\t" "adoxq %%rbx, %%" #T4 "\n\t"  \
  "adcxq %%r13, %%" #T4 "\n\t"
static inline void fp_mul(fp *r, const fp *a, const fp *b) {
  u64 t[4];
  __asm__("xorl %%r13d, %%r13d\n\t"
          "movabsq %[pinv], %%r14\n\t"
          "xorl %%r8d, %%r8d\n\t"
          "xorl %%r9d, %%r9d\n\t"
          "xorl %%r10d, %%r10d\n\t"
          "xorl %%r11d, %%r11d\n\t"
          MONT_ROUND(0, r8, r9, r10, r11, r12)
          MONT_ROUND(1, r9, r10, r11, r12, r8)
          MONT_ROUND(2, r10, r11, r12, r8, r9)
          MONT_ROUND(3, r11, r12, r8, r9, r10)
          "movq %%r12, 0(%[t])\n\t"
          "movq %%r8, 8(%[t])\n\t"
          "movq %%r9, 16(%[t])\n\t"
          "movq %%r10, 24(%[t])\n\t"
          : "=m"(t)
          : [t] "r"(t), [a] "r"(a->v), [b] "r"(b->v), [p] "r"(P), [pinv] "i"(0x87d20782e4866389ULL), "m"(*(const u64(*)[4])a->v), "m"(*(const u64(*)[4])b->v), "m"(*(const u64(*)[4])P)
          : "rax", "rbx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "cc");
  fp_reduce_once(r->v, t);
}
#undef MONT_ROUND
#else
/* Montgomery product a * b / 2^256 mod p, portable (mont.h). */
static inline void fp_mul(fp *r, const fp *a, const fp *b) { mont_mul(r->v, a->v, b->v, P, PINV); }
#endif
static inline void fp_sqr(fp *r, const fp *a) { fp_mul(r, a, a); }
static inline int fp_is_zero(const fp *a) { return (a->v[0] | a->v[1] | a->v[2] | a->v[3]) == 0; }
static inline int fp_eq(const fp *a, const fp *b) { return memcmp(a->v, b->v, 32) == 0; }
static inline void fp_one(fp *r) { memcpy(r->v, ONE, 32); }
static inline void fp_zero(fp *r) { memset(r->v, 0, 32); }


/* a^(p-2): the inverse of a nonzero a (Fermat), square-and-multiply over the public exponent. */
static void fp_inv(fp *r, const fp *a) {
  static const u64 E[4] = {0x3c208c16d87cfd45ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  fp acc;
  fp_one(&acc);
  for (int i = 253; i >= 0; i--) {
    fp_sqr(&acc, &acc);
    if ((E[i >> 6] >> (i & 63)) & 1) fp_mul(&acc, &acc, a);
  }
  *r = acc;
}

/* Fp2 = Fp[u] / (u^2 + 1) */
static inline void fp2_add(fp2 *r, const fp2 *a, const fp2 *b) { fp_add(&r->c0, &a->c0, &b->c0); fp_add(&r->c1, &a->c1, &b->c1); }
static inline void fp2_sub(fp2 *r, const fp2 *a, const fp2 *b) { fp_sub(&r->c0, &a->c0, &b->c0); fp_sub(&r->c1, &a->c1, &b->c1); }
static inline void fp2_dbl(fp2 *r, const fp2 *a) { fp2_add(r, a, a); }
static inline void fp2_mul(fp2 *r, const fp2 *a, const fp2 *b) {
  fp t0, t1, s0, s1, m;
  fp_mul(&t0, &a->c0, &b->c0);
  fp_mul(&t1, &a->c1, &b->c1);
  fp_add(&s0, &a->c0, &a->c1);
  fp_add(&s1, &b->c0, &b->c1);
  fp_mul(&m, &s0, &s1);
  fp_sub(&r->c0, &t0, &t1);
  fp_sub(&m, &m, &t0);
  fp_sub(&r->c1, &m, &t1);
}
static inline void fp2_sqr(fp2 *r, const fp2 *a) {
  fp s, d, m;
  fp_add(&s, &a->c0, &a->c1);
  fp_sub(&d, &a->c0, &a->c1);
  fp_mul(&m, &a->c0, &a->c1);
  fp_mul(&r->c0, &s, &d);
  fp_dbl(&r->c1, &m);
}
static inline int fp2_is_zero(const fp2 *a) { return fp_is_zero(&a->c0) && fp_is_zero(&a->c1); }
static inline int fp2_eq(const fp2 *a, const fp2 *b) { return fp_eq(&a->c0, &b->c0) && fp_eq(&a->c1, &b->c1); }
static inline void fp2_one(fp2 *r) { fp_one(&r->c0); fp_zero(&r->c1); }
static inline void fp2_zero(fp2 *r) { fp_zero(&r->c0); fp_zero(&r->c1); }

static void fp2_inv(fp2 *r, const fp2 *a) {
  /* 1 / (a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2) */
  fp t0, t1, n;
  fp_sqr(&t0, &a->c0);
  fp_sqr(&t1, &a->c1);
  fp_add(&n, &t0, &t1);
  fp_inv(&n, &n);
  fp_mul(&r->c0, &a->c0, &n);
  fp_mul(&t1, &a->c1, &n);
  fp_zero(&t0);
  fp_sub(&r->c1, &t0, &t1);
}

/* Jacobian point operations for y^2 = x^3 + b (a = 0), written once for each field. */
#define DEFINE_CURVE(G, F)                                                                        \
  typedef struct { F x, y, z; } G##_jac;                                                          \
  typedef struct { F x, y; } G##_aff;                                                             \
  static inline void G##_set_zero(G##_jac *r) { F##_zero(&r->x); F##_one(&r->y); F##_zero(&r->z); } \
  static inline int G##_is_zero(const G##_jac *p) { return F##_is_zero(&p->z); }                 \
  /* dbl-2009-l */                                                                                \
  static void G##_double(G##_jac *r, const G##_jac *p) {                                          \
    if (G##_is_zero(p)) { *r = *p; return; }                                                      \
    F a, b, c, d, e, f, t;                                                                        \
    F##_sqr(&a, &p->x);                                                                           \
    F##_sqr(&b, &p->y);                                                                           \
    F##_sqr(&c, &b);                                                                              \
    F##_add(&t, &p->x, &b);                                                                       \
    F##_sqr(&t, &t);                                                                              \
    F##_sub(&t, &t, &a);                                                                          \
    F##_sub(&t, &t, &c);                                                                          \
    F##_dbl(&d, &t);                                                                              \
    F##_dbl(&e, &a);                                                                              \
    F##_add(&e, &e, &a);                                                                          \
    F##_sqr(&f, &e);                                                                              \
    F z3;                                                                                         \
    F##_mul(&z3, &p->y, &p->z);                                                                   \
    F##_dbl(&r->z, &z3);                                                                          \
    F##_dbl(&t, &d);                                                                              \
    F##_sub(&r->x, &f, &t);                                                                       \
    F##_sub(&t, &d, &r->x);                                                                       \
    F##_mul(&t, &e, &t);                                                                          \
    F##_dbl(&c, &c);                                                                              \
    F##_dbl(&c, &c);                                                                              \
    F##_dbl(&c, &c);                                                                              \
    F##_sub(&r->y, &t, &c);                                                                       \
  }                                                                                               \
  /* madd-2007-bl: r = p + q, q affine and not infinity */                                        \
  static void G##_add_mixed(G##_jac *r, const G##_jac *p, const G##_aff *q) {                     \
    if (G##_is_zero(p)) { r->x = q->x; r->y = q->y; F##_one(&r->z); return; }                     \
    F z1z1, u2, s2, h, hh, i, j, rr, v, t;                                                        \
    F##_sqr(&z1z1, &p->z);                                                                        \
    F##_mul(&u2, &q->x, &z1z1);                                                                   \
    F##_mul(&s2, &q->y, &p->z);                                                                   \
    F##_mul(&s2, &s2, &z1z1);                                                                     \
    F##_sub(&h, &u2, &p->x);                                                                      \
    F##_sub(&rr, &s2, &p->y);                                                                     \
    if (F##_is_zero(&h)) {                                                                        \
      if (F##_is_zero(&rr)) { G##_double(r, p); } else { G##_set_zero(r); }                       \
      return;                                                                                     \
    }                                                                                             \
    F##_dbl(&rr, &rr);                                                                            \
    F##_sqr(&hh, &h);                                                                             \
    F##_dbl(&i, &hh);                                                                             \
    F##_dbl(&i, &i);                                                                              \
    F##_mul(&j, &h, &i);                                                                          \
    F##_mul(&v, &p->x, &i);                                                                       \
    F z3;                                                                                         \
    F##_add(&z3, &p->z, &h);                                                                      \
    F##_sqr(&z3, &z3);                                                                            \
    F##_sub(&z3, &z3, &z1z1);                                                                     \
    F##_sub(&r->z, &z3, &hh);                                                                     \
    F y1j;                                                                                        \
    F##_mul(&y1j, &p->y, &j);                                                                     \
    F##_dbl(&y1j, &y1j);                                                                          \
    F##_sqr(&t, &rr);                                                                             \
    F##_sub(&t, &t, &j);                                                                          \
    F##_sub(&t, &t, &v);                                                                          \
    F##_sub(&r->x, &t, &v);                                                                       \
    F##_sub(&t, &v, &r->x);                                                                       \
    F##_mul(&t, &rr, &t);                                                                         \
    F##_sub(&r->y, &t, &y1j);                                                                     \
  }                                                                                               \
  /* add-2007-bl: r = p + q, both Jacobian */                                                     \
  static void G##_add(G##_jac *r, const G##_jac *p, const G##_jac *q) {                           \
    if (G##_is_zero(p)) { *r = *q; return; }                                                      \
    if (G##_is_zero(q)) { *r = *p; return; }                                                      \
    F z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v, t;                                              \
    F##_sqr(&z1z1, &p->z);                                                                        \
    F##_sqr(&z2z2, &q->z);                                                                        \
    F##_mul(&u1, &p->x, &z2z2);                                                                   \
    F##_mul(&u2, &q->x, &z1z1);                                                                   \
    F##_mul(&s1, &p->y, &q->z);                                                                   \
    F##_mul(&s1, &s1, &z2z2);                                                                     \
    F##_mul(&s2, &q->y, &p->z);                                                                   \
    F##_mul(&s2, &s2, &z1z1);                                                                     \
    F##_sub(&h, &u2, &u1);                                                                        \
    F##_sub(&rr, &s2, &s1);                                                                       \
    if (F##_is_zero(&h)) {                                                                        \
      if (F##_is_zero(&rr)) { G##_double(r, p); } else { G##_set_zero(r); }                       \
      return;                                                                                     \
    }                                                                                             \
    F##_dbl(&rr, &rr);                                                                            \
    F##_dbl(&i, &h);                                                                              \
    F##_sqr(&i, &i);                                                                              \
    F##_mul(&j, &h, &i);                                                                          \
    F##_mul(&v, &u1, &i);                                                                         \
    F z3;                                                                                         \
    F##_add(&z3, &p->z, &q->z);                                                                   \
    F##_sqr(&z3, &z3);                                                                            \
    F##_sub(&z3, &z3, &z1z1);                                                                     \
    F##_sub(&z3, &z3, &z2z2);                                                                     \
    F##_mul(&r->z, &z3, &h);                                                                      \
    F s1j;                                                                                        \
    F##_mul(&s1j, &s1, &j);                                                                       \
    F##_dbl(&s1j, &s1j);                                                                          \
    F##_sqr(&t, &rr);                                                                             \
    F##_sub(&t, &t, &j);                                                                          \
    F##_sub(&t, &t, &v);                                                                          \
    F##_sub(&r->x, &t, &v);                                                                       \
    F##_sub(&t, &v, &r->x);                                                                       \
    F##_mul(&t, &rr, &t);                                                                         \
    F##_sub(&r->y, &t, &s1j);                                                                     \
  }                                                                                               \
  /* Pippenger with Jacobian buckets, for inputs too small to amortise batched inversions. */      \
  static void G##_msm_small(G##_jac *res, const G##_aff *bases, const u64 (*scalars)[4], size_t n) { \
    unsigned c = n < 32 ? 3 : 5;                                                                  \
    size_t nb = ((size_t)1 << c) - 1;                                                             \
    G##_jac buckets[31];                                                                          \
    G##_set_zero(res);                                                                            \
    unsigned windows = (254 + c - 1) / c;                                                         \
    for (int w = (int)windows - 1; w >= 0; w--) {                                                 \
      for (unsigned k = 0; k < c; k++) G##_double(res, res);                                      \
      for (size_t b = 0; b < nb; b++) G##_set_zero(&buckets[b]);                                  \
      unsigned bit = (unsigned)w * c;                                                             \
      for (size_t i = 0; i < n; i++) {                                                            \
        const u64 *s = scalars[i];                                                                \
        unsigned limb = bit >> 6, off = bit & 63;                                                 \
        u64 d = s[limb] >> off;                                                                   \
        if (off + c > 64 && limb < 3) d |= s[limb + 1] << (64 - off);                             \
        d &= ((u64)1 << c) - 1;                                                                   \
        if (d == 0) continue;                                                                     \
        if (F##_is_zero(&bases[i].x) && F##_is_zero(&bases[i].y)) continue;                       \
        G##_add_mixed(&buckets[d - 1], &buckets[d - 1], &bases[i]);                               \
      }                                                                                           \
      G##_jac running, sum;                                                                       \
      G##_set_zero(&running);                                                                     \
      G##_set_zero(&sum);                                                                         \
      for (size_t b = nb; b-- > 0;) {                                                             \
        G##_add(&running, &running, &buckets[b]);                                                 \
        G##_add(&sum, &sum, &running);                                                            \
      }                                                                                           \
      G##_add(res, res, &sum);                                                                    \
    }                                                                                             \
  }                                                                                               \
  /* Affine doubling for the rare equal-points case of the batched bucket additions. */           \
  static void G##_aff_double(G##_aff *r, const G##_aff *p) {                                      \
    F num, den, lambda, t, x3;                                                                    \
    F##_sqr(&num, &p->x);                                                                         \
    F##_dbl(&t, &num);                                                                            \
    F##_add(&num, &num, &t);                                                                      \
    F##_dbl(&den, &p->y);                                                                         \
    F##_inv(&den, &den);                                                                          \
    F##_mul(&lambda, &num, &den);                                                                 \
    F##_sqr(&x3, &lambda);                                                                        \
    F##_dbl(&t, &p->x);                                                                           \
    F##_sub(&x3, &x3, &t);                                                                        \
    F##_sub(&t, &p->x, &x3);                                                                      \
    F##_mul(&t, &lambda, &t);                                                                     \
    F##_sub(&r->y, &t, &p->y);                                                                    \
    r->x = x3;                                                                                    \
  }                                                                                               \
  /* Pippenger over all windows at once: 2^c - 1 affine buckets per window, and every (point,      \
   * window) pair with a nonzero digit is one bucket addition. The additions run in batches that   \
   * share one field inversion (Montgomery's trick: about 6 multiplications an addition instead of \
   * 11); taking the windows together keeps every batch full. A pair whose bucket already has an   \
   * addition in the batch goes into that bucket's Jacobian overflow sum instead, so equal digits  \
   * (even all of them) never shrink the batches. Memory: the buckets of every window, not the     \
   * pairs. */                                                                                     \
  static void G##_msm(G##_jac *res, const G##_aff *bases, const u64 (*scalars)[4], size_t n) {     \
    if (n < 512) { G##_msm_small(res, bases, scalars, n); return; }                                \
    unsigned c = 1;                                                                                \
    double best = -1;                                                                              \
    for (unsigned k = 1; k <= 16; k++) {                                                           \
      double cost = (double)((254 + k - 1) / k) * (7.0 * (double)n + 27.0 * (double)(1u << k));    \
      if (best < 0 || cost < best) { best = cost; c = k; }                                         \
    }                                                                                              \
    size_t nb = ((size_t)1 << c) - 1;                                                              \
    unsigned windows = (254 + c - 1) / c;                                                          \
    size_t nbk = nb * windows;                                                                     \
    enum { CAP = 1024 };                                                                           \
    G##_aff *bk = malloc(nbk * sizeof(G##_aff));                                                   \
    G##_jac *ov = calloc(nbk, sizeof(G##_jac));                                                    \
    uint8_t *set = calloc(nbk, 1);                                                                 \
    uint32_t *busy = calloc(nbk, sizeof(uint32_t));                                                \
    uint32_t *pb = malloc(CAP * sizeof(uint32_t));                                                 \
    uint32_t *pp = malloc(CAP * sizeof(uint32_t));                                                 \
    uint8_t *special = malloc(CAP);                                                                \
    F *den = malloc(CAP * sizeof(F));                                                              \
    F *pref = malloc(CAP * sizeof(F));                                                             \
    if (!bk || !ov || !set || !busy || !pb || !pp || !special || !den || !pref) { /* no memory: the heap-free method */ \
      free(bk); free(ov); free(set); free(busy);                                                   \
      free(pb); free(pp); free(special); free(den); free(pref);                                    \
      G##_msm_small(res, bases, scalars, n);                                                       \
      return;                                                                                      \
    }                                                                                              \
    uint32_t stamp = 1;                                                                            \
    size_t m = 0;                                                                                  \
    for (size_t i = 0; i <= n; i++) {                                                              \
      if (i < n) {                                                                                 \
        if (F##_is_zero(&bases[i].x) && F##_is_zero(&bases[i].y)) continue;                        \
        const u64 *s = scalars[i];                                                                 \
        for (unsigned w = 0; w < windows; w++) {                                                   \
          unsigned bit = w * c, limb = bit >> 6, off = bit & 63;                                   \
          u64 d = s[limb] >> off;                                                                  \
          if (off + c > 64 && limb < 3) d |= s[limb + 1] << (64 - off);                            \
          d &= ((u64)1 << c) - 1;                                                                  \
          if (d == 0) continue;                                                                    \
          uint32_t b = (uint32_t)(w * nb + d - 1);                                                 \
          if (!set[b]) { bk[b] = bases[i]; set[b] = 1; continue; }                                 \
          if (busy[b] == stamp) { G##_add_mixed(&ov[b], &ov[b], &bases[i]); continue; }            \
          busy[b] = stamp;                                                                         \
          pb[m] = b;                                                                               \
          pp[m] = (uint32_t)i;                                                                     \
          m++;                                                                                     \
        }                                                                                          \
        if (m + windows <= CAP) continue; /* the next point's pairs still fit */                   \
      }                                                                                            \
      if (m == 0) continue;                                                                        \
      /* one batch: denominators, their product's inverse, then each sum */                        \
      for (size_t j = 0; j < m; j++) {                                                             \
        const G##_aff *p = &bases[pp[j]];                                                          \
        G##_aff *q = &bk[pb[j]];                                                                   \
        F##_sub(&den[j], &p->x, &q->x);                                                            \
        special[j] = F##_is_zero(&den[j]);                                                         \
        if (special[j]) {                                                                          \
          if (F##_eq(&p->y, &q->y)) G##_aff_double(q, q);                                          \
          else set[pb[j]] = 0;                                                                     \
          F##_one(&den[j]);                                                                        \
        }                                                                                          \
        if (j == 0) pref[0] = den[0];                                                              \
        else F##_mul(&pref[j], &pref[j - 1], &den[j]);                                             \
      }                                                                                            \
      F inv;                                                                                       \
      F##_inv(&inv, &pref[m - 1]);                                                                 \
      for (size_t j = m; j-- > 0;) {                                                               \
        F inv_j;                                                                                   \
        if (j > 0) {                                                                               \
          F##_mul(&inv_j, &inv, &pref[j - 1]);                                                     \
          F##_mul(&inv, &inv, &den[j]);                                                            \
        } else {                                                                                   \
          inv_j = inv;                                                                             \
        }                                                                                          \
        if (special[j]) continue;                                                                  \
        const G##_aff *p = &bases[pp[j]];                                                          \
        G##_aff *q = &bk[pb[j]];                                                                   \
        F lambda, x3, t;                                                                           \
        F##_sub(&t, &p->y, &q->y);                                                                 \
        F##_mul(&lambda, &t, &inv_j);                                                              \
        F##_sqr(&x3, &lambda);                                                                     \
        F##_sub(&x3, &x3, &q->x);                                                                  \
        F##_sub(&x3, &x3, &p->x);                                                                  \
        F##_sub(&t, &q->x, &x3);                                                                   \
        F##_mul(&t, &lambda, &t);                                                                  \
        F##_sub(&q->y, &t, &q->y);                                                                 \
        q->x = x3;                                                                                 \
      }                                                                                            \
      m = 0;                                                                                       \
      stamp++;                                                                                     \
    }                                                                                              \
    G##_set_zero(res);                                                                             \
    for (int w = (int)windows - 1; w >= 0; w--) {                                                  \
      for (unsigned k = 0; k < c; k++) G##_double(res, res);                                       \
      G##_jac running, sum;                                                                        \
      G##_set_zero(&running);                                                                      \
      G##_set_zero(&sum);                                                                          \
      for (size_t b = (size_t)w * nb + nb; b-- > (size_t)w * nb;) {                                \
        if (set[b]) G##_add_mixed(&running, &running, &bk[b]);                                     \
        if (!G##_is_zero(&ov[b])) G##_add(&running, &running, &ov[b]);                             \
        G##_add(&sum, &sum, &running);                                                             \
      }                                                                                            \
      G##_add(res, res, &sum);                                                                     \
    }                                                                                              \
    free(bk); free(ov); free(set); free(busy);                                                     \
    free(pb); free(pp); free(special); free(den); free(pref);                                      \
  }

DEFINE_CURVE(g1, fp)
DEFINE_CURVE(g2, fp2)

/* The entry points of this variant (msm.c picks one): copies of the inputs (aligned: the caller's
 * bytes need not be), the sum, and the Jacobian result in the caller's layout. 32-byte
 * little-endian scalars are four little-endian u64 limbs. */
#define ENTRY_NAME2(G, S) bn254_##G##_msm_##S
#define ENTRY_NAME(G, S) ENTRY_NAME2(G, S)
#define DEFINE_ENTRY(G, POINT_BYTES, RESULT_BYTES)                                                 \
  int ENTRY_NAME(G, QULOUD_MSM_NAME)(uint8_t out[RESULT_BYTES], const uint8_t *bases, const uint8_t *scalars, size_t n) { \
    u64 (*s)[4] = malloc(n * sizeof *s + 1);                                                      \
    G##_aff *b = malloc(n * sizeof(G##_aff) + 1);                                                 \
    if (!s || !b) {                                                                               \
      free(b);                                                                                    \
      free(s);                                                                                    \
      return -1;                                                                                  \
    }                                                                                             \
    memcpy(s, scalars, n * 32);                                                                   \
    memcpy(b, bases, n * POINT_BYTES);                                                            \
    G##_jac r;                                                                                    \
    G##_msm(&r, b, (const u64 (*)[4])s, n);                                                       \
    memcpy(out, &r, RESULT_BYTES);                                                                \
    free(b);                                                                                      \
    free(s);                                                                                      \
    return 0;                                                                                     \
  }

DEFINE_ENTRY(g1, 64, 96)
DEFINE_ENTRY(g2, 128, 192)

/* Groth16's last step (msm.h, bn254_groth16_finish): the sums above with the key's α, β, δ and the
 * blinding scalars r, s added, as snarkjs does:
 *   A = ΣA + α + r·δ (G1),  B = ΣB2 + β + s·δ (G2),  B1 = ΣB1 + β + s·δ (G1),
 *   C = ΣC + ΣH + s·A + r·B1 − r·s·δ (G1),  each returned affine. */
#define DEFINE_TO_AFFINE(G, F)                                                                     \
  static int G##_to_affine(G##_aff *r, const G##_jac *p) {                                        \
    if (G##_is_zero(p)) return -1;                                                                \
    F zi, zz;                                                                                     \
    F##_inv(&zi, &p->z);                                                                          \
    F##_sqr(&zz, &zi);                                                                            \
    F##_mul(&r->x, &p->x, &zz);                                                                   \
    F##_mul(&zz, &zz, &zi);                                                                       \
    F##_mul(&r->y, &p->y, &zz);                                                                   \
    return 0;                                                                                     \
  }
DEFINE_TO_AFFINE(g1, fp)
DEFINE_TO_AFFINE(g2, fp2)

#define FINISH_NAME2(S) bn254_groth16_finish_##S
#define FINISH_NAME(S) FINISH_NAME2(S)
int FINISH_NAME(QULOUD_MSM_NAME)(uint8_t out[256], const uint8_t in[1024], const uint8_t scalars[96]) {
  g1_jac a, b1, c, h, t;
  g2_jac b2, t2;
  g1_aff alpha1, beta1, delta1, pa, pb1;
  g2_aff beta2, delta2, pb;
  const uint8_t *at = in;
#define TAKE(v, len) (memcpy(&(v), at, len), at += len)
  TAKE(a, 96); TAKE(b1, 96); TAKE(b2, 192); TAKE(c, 96); TAKE(h, 96);
  TAKE(alpha1, 64); TAKE(beta1, 64); TAKE(beta2, 128); TAKE(delta1, 64); TAKE(delta2, 128);
#undef TAKE
  u64 k[3][4]; /* r, s, −r·s mod r */
  memcpy(k[0], scalars, 32);
  memcpy(k[1], scalars + 32, 32);
  memcpy(k[2], scalars + 64, 32);
  g1_add_mixed(&a, &a, &alpha1);
  g1_msm_small(&t, &delta1, (const u64 (*)[4])k[0], 1);
  g1_add(&a, &a, &t);
  g2_add_mixed(&b2, &b2, &beta2);
  g2_msm_small(&t2, &delta2, (const u64 (*)[4])k[1], 1);
  g2_add(&b2, &b2, &t2);
  g1_add_mixed(&b1, &b1, &beta1);
  g1_msm_small(&t, &delta1, (const u64 (*)[4])k[1], 1);
  g1_add(&b1, &b1, &t);
  if (g1_to_affine(&pa, &a) || g2_to_affine(&pb, &b2) || g1_to_affine(&pb1, &b1)) return -3;
  g1_add(&c, &c, &h);
  g1_msm_small(&t, &pa, (const u64 (*)[4])k[1], 1);
  g1_add(&c, &c, &t);
  g1_msm_small(&t, &pb1, (const u64 (*)[4])k[0], 1);
  g1_add(&c, &c, &t);
  g1_msm_small(&t, &delta1, (const u64 (*)[4])k[2], 1);
  g1_add(&c, &c, &t);
  g1_aff pc;
  if (g1_to_affine(&pc, &c)) return -3;
  memcpy(out, &pa, 64);
  memcpy(out + 64, &pb, 128);
  memcpy(out + 192, &pc, 64);
  return 0;
}
