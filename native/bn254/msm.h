/* Multi-scalar multiplication on BN254 (alt_bn128) G1 and G2 for the Groth16 prover.
 * Points use the layout of ffjavascript/snarkjs proving keys: affine coordinates, each field
 * element 32 bytes little-endian in Montgomery form (R = 2^256); an all-zero point is infinity.
 * Scalars are 32-byte little-endian integers (not Montgomery). Results are Jacobian (x, y, z) in
 * the same form, z = 0 for infinity. Each returns 0, or -1 when memory ran out. `portable` forces
 * the portable C arithmetic (tests compare the two). */
#ifndef QULOUD_BN254_MSM_H
#define QULOUD_BN254_MSM_H
#include <stddef.h>
#include <stdint.h>

int bn254_g1_msm(uint8_t out[96], const uint8_t *bases, const uint8_t *scalars, size_t n, int portable);
int bn254_g2_msm(uint8_t out[192], const uint8_t *bases, const uint8_t *scalars, size_t n, int portable);
/* Groth16 over a snarkjs proving key (see quotient.c): the quotient polynomial's scalars for the
 * key's H points, from the key's coefficient section (u32 count, then 44-byte entries: matrix,
 * constraint, signal as u32, value as v·2^512 mod r) and the witness (nvars 32-byte LE values) on a
 * domain of 2^bits. Writes 2^bits 32-byte LE scalars; 0, -1 out of memory, -2 malformed input. */
int bn254_groth16_quotient(uint8_t *out, const uint8_t *coefs, size_t coefs_len, const uint8_t *witness, size_t nvars, unsigned bits);
/* The proof's points from the multi-exponentiations' sums. `in`: Jacobian ΣA, ΣB1 (G1), ΣB2 (G2),
 * ΣC, ΣH (G1), then affine α1, β1 (G1), β2 (G2), δ1 (G1), δ2 (G2), 1024 bytes in this header's
 * layout; `scalars`: r, s and −r·s mod r (32-byte LE). `out`: affine A (G1), B (G2), C (G1).
 * 0, or -3 when a point is infinity (a degenerate proof: prove again). */
int bn254_groth16_finish(uint8_t out[256], const uint8_t in[1024], const uint8_t scalars[96], int portable);
/* 1 when the BMI2/ADX arithmetic is used (x86-64 CPUs that have both). */
int bn254_msm_uses_adx(void);

#endif
