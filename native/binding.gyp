{
  "targets": [
    {
      "target_name": "probegen_native",
      "sources": ["kernels.cc"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-exceptions", "-Wno-psabi"],
      "cflags!": ["-O2"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-ffp-contract=off", "-fno-math-errno"]
      }
    }
  ]
}
