{
  "targets": [
    {
      "target_name": "offheap",
      "sources": [
        "src/binding.c",
        "../offheap.c",
        "../offheap_async.c",
        "../ketama.c"
      ],
      "include_dirs": [".."],
      "defines": ["OFFHEAP_NO_LIBEVENT", "_DEFAULT_SOURCE"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lhiredis", "-lm"]
    }
  ]
}
