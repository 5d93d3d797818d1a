{
  "targets": [
    {
      "target_name": "offheap",
      "sources": [
        "src/binding.c",
        "<!@(node scripts/sources.js sources)"
      ],
      "include_dirs": ["<!@(node scripts/sources.js include)"],
      "defines": ["OFFHEAP_NO_LIBEVENT", "_DEFAULT_SOURCE"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                   "-fvisibility=hidden"],
      "libraries": ["<!@(node scripts/sources.js libs)"]
    }
  ]
}
