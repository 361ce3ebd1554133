{
  "targets": [
    {
      "target_name": "quloud_ingest",
      "sources": ["ingest.c", "aead.c"],
      "cflags": ["-O3", "-std=c11"],
      "cflags!": ["-O2"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lm"]
    }
  ]
}
