/* Multi-scalar multiplication on BN254 (alt_bn128) G1 and G2 for the Groth16 prover.
 * Points use the layout of ffjavascript/snarkjs proving keys: affine coordinates, each field
 * element 32 bytes little-endian in Montgomery form (R = 2^256); an all-zero point is infinity.
 * Scalars are 32-byte little-endian integers (not Montgomery). Results are Jacobian (x, y, z) in
 * the same form, z = 0 for infinity. */
#ifndef QULOUD_BN254_MSM_H
#define QULOUD_BN254_MSM_H
#include <stddef.h>
#include <stdint.h>

void bn254_g1_msm(uint8_t out[96], const uint8_t *bases, const uint8_t *scalars, size_t n);
void bn254_g2_msm(uint8_t out[192], const uint8_t *bases, const uint8_t *scalars, size_t n);

#endif
