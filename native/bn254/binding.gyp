{
  "targets": [
    {
      "target_name": "bn254_msm",
      "sources": ["msm.c", "msm-portable.c", "msm-adx.c", "quotient.c", "binding.c"],
      "cflags": ["-O3", "-std=c11"],
      "libraries": ["-ldl"],
      "cflags!": ["-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
