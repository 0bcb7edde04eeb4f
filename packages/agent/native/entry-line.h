/* The manifest line hash of a file entry, as both sides hash it: see entry-line.c. */
#ifndef SKIFF_ENTRY_LINE_H
#define SKIFF_ENTRY_LINE_H

#include <stddef.h>
#include <stdint.h>

/* XXH64 of protocol entry.ts entryLine for a file: "f\0path\0size\0mode & 0777 in octal\0hash". */
uint64_t file_line_hash(const char *path, size_t path_len, uint64_t size, unsigned mode, const char *hash16);

#endif
