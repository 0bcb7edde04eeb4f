{
  "targets": [
    {
      "target_name": "reaper",
      "sources": ["reaper.c", "list-dir.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
