{
  "targets": [
    {
      "target_name": "atomizer_native",
      "sources": ["native/atomizer_native.c"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wno-unused-parameter"],
      "cflags!": ["-O2"],
      "libraries": ["-lopenblas"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3"]
      }
    }
  ]
}
