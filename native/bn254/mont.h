/* Portable 4 x 64-bit Montgomery arithmetic shared by the base field (msm-impl.h, where CPUs
 * without BMI2/ADX use it) and the scalar field (quotient.c). Both BN254 moduli are below 2^254,
 * so CIOS needs no extra carry words and one subtraction reduces a sum or a product. */
#ifndef QULOUD_BN254_MONT_H
#define QULOUD_BN254_MONT_H
#include <stdint.h>

/* r = a - mod if a >= mod, else a; branch-free (a < 2 mod). */
static inline void mont_reduce_once(uint64_t r[4], const uint64_t a[4], const uint64_t mod[4]) {
  uint64_t d[4], borrow = 0;
  for (int i = 0; i < 4; i++) {
    unsigned __int128 x = (unsigned __int128)a[i] - mod[i] - borrow;
    d[i] = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
  }
  uint64_t keep = (uint64_t)0 - borrow; /* all ones when a < mod */
  for (int i = 0; i < 4; i++) r[i] = (a[i] & keep) | (d[i] & ~keep);
}

/* r = a + b mod `mod` (a, b < mod < 2^254: the sum never carries out of 256 bits). */
static inline void mont_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], const uint64_t mod[4]) {
  uint64_t s[4], carry = 0;
  for (int i = 0; i < 4; i++) {
    unsigned __int128 x = (unsigned __int128)a[i] + b[i] + carry;
    s[i] = (uint64_t)x;
    carry = (uint64_t)(x >> 64);
  }
  mont_reduce_once(r, s, mod);
}

/* r = a - b mod `mod` (a, b < mod), branch-free: mod is added back when a < b. */
static inline void mont_sub(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], const uint64_t mod[4]) {
  uint64_t d[4], borrow = 0;
  for (int i = 0; i < 4; i++) {
    unsigned __int128 x = (unsigned __int128)a[i] - b[i] - borrow;
    d[i] = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
  }
  uint64_t mask = (uint64_t)0 - borrow, carry = 0;
  for (int i = 0; i < 4; i++) {
    unsigned __int128 x = (unsigned __int128)d[i] + (mod[i] & mask) + carry;
    r[i] = (uint64_t)x;
    carry = (uint64_t)(x >> 64);
  }
}

/* Montgomery product a * b / 2^256 mod `mod` (CIOS), reduced; `minv` = -mod^-1 mod 2^64. Inputs
 * below 2^256 with one of them below mod give a result below mod. */
static inline void mont_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], const uint64_t mod[4], uint64_t minv) {
  uint64_t t[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4; i++) {
    unsigned __int128 x = (unsigned __int128)a[0] * b[i] + t[0];
    uint64_t A = (uint64_t)(x >> 64);
    t[0] = (uint64_t)x;
    uint64_t m = t[0] * minv;
    unsigned __int128 y = (unsigned __int128)m * mod[0] + t[0];
    uint64_t C = (uint64_t)(y >> 64);
    for (int j = 1; j < 4; j++) {
      x = (unsigned __int128)a[j] * b[i] + t[j] + A;
      A = (uint64_t)(x >> 64);
      t[j] = (uint64_t)x;
      y = (unsigned __int128)m * mod[j] + t[j] + C;
      C = (uint64_t)(y >> 64);
      t[j - 1] = (uint64_t)y;
    }
    t[3] = C + A;
  }
  mont_reduce_once(r, t, mod);
}

#endif
