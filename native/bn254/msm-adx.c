/* The multi-exponentiations with x86-64 BMI2/ADX field multiplication (inline assembly, which any
 * x86-64 GCC or Clang assembles whatever -march says); msm.c calls it only on a CPU that has both. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QULOUD_MSM_ADX 1
#define QULOUD_MSM_NAME adx
#include "msm-impl.h"
#endif
