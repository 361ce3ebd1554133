/* The multi-exponentiations with portable C field arithmetic (any 64-bit compiler with __int128). */
#define QULOUD_MSM_ADX 0
#define QULOUD_MSM_NAME portable
#include "msm-impl.h"
