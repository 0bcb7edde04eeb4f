{
  "targets": [
    {
      "target_name": "reaper",
      "sources": ["reaper.c", "list-dir.c", "verify-saved.c", "file-write.c", "staged-files.c", "pack-file.c", "entry-line.c", "xxh64.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-ffp-contract=off"]
    }
  ]
}
