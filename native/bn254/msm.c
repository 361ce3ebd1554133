/* Picks the field arithmetic for this CPU: BMI2/ADX assembly on x86-64 CPUs that have it (about
 * 1.5 times faster here), else portable C. Both give the same results (native-msm.test.ts). */
#include "msm.h"

int bn254_g1_msm_portable(uint8_t out[96], const uint8_t *bases, const uint8_t *scalars, size_t n);
int bn254_g2_msm_portable(uint8_t out[192], const uint8_t *bases, const uint8_t *scalars, size_t n);

int bn254_groth16_finish_portable(uint8_t out[256], const uint8_t in[1024], const uint8_t scalars[96]);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
int bn254_groth16_finish_adx(uint8_t out[256], const uint8_t in[1024], const uint8_t scalars[96]);
int bn254_g1_msm_adx(uint8_t out[96], const uint8_t *bases, const uint8_t *scalars, size_t n);
int bn254_g2_msm_adx(uint8_t out[192], const uint8_t *bases, const uint8_t *scalars, size_t n);

int bn254_msm_uses_adx(void) {
  static int known = -1; /* a race only computes the same answer twice */
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
  }
  return known;
}
int bn254_g1_msm(uint8_t out[96], const uint8_t *bases, const uint8_t *scalars, size_t n, int portable) {
  return !portable && bn254_msm_uses_adx() ? bn254_g1_msm_adx(out, bases, scalars, n) : bn254_g1_msm_portable(out, bases, scalars, n);
}
int bn254_g2_msm(uint8_t out[192], const uint8_t *bases, const uint8_t *scalars, size_t n, int portable) {
  return !portable && bn254_msm_uses_adx() ? bn254_g2_msm_adx(out, bases, scalars, n) : bn254_g2_msm_portable(out, bases, scalars, n);
}
int bn254_groth16_finish(uint8_t out[256], const uint8_t in[1024], const uint8_t scalars[96], int portable) {
  return !portable && bn254_msm_uses_adx() ? bn254_groth16_finish_adx(out, in, scalars) : bn254_groth16_finish_portable(out, in, scalars);
}
#else
int bn254_msm_uses_adx(void) { return 0; }
int bn254_g1_msm(uint8_t out[96], const uint8_t *bases, const uint8_t *scalars, size_t n, int portable) {
  (void)portable;
  return bn254_g1_msm_portable(out, bases, scalars, n);
}
int bn254_g2_msm(uint8_t out[192], const uint8_t *bases, const uint8_t *scalars, size_t n, int portable) {
  (void)portable;
  return bn254_g2_msm_portable(out, bases, scalars, n);
}
int bn254_groth16_finish(uint8_t out[256], const uint8_t in[1024], const uint8_t scalars[96], int portable) {
  (void)portable;
  return bn254_groth16_finish_portable(out, in, scalars);
}
#endif
