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
/* 1 when the BMI2/ADX arithmetic is used (x86-64 CPUs that have both). */
int bn254_msm_uses_adx(void);

#endif
