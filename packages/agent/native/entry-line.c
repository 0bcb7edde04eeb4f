/* See entry-line.h. */
#include <stdio.h>
#include <string.h>

#include "entry-line.h"
#include "xxh64.h"

#define MAX_PATH_BYTES 4096

uint64_t file_line_hash(const char *path, size_t path_len, uint64_t size, unsigned mode, const char *hash16) {
  char line[MAX_PATH_BYTES + 64];
  if (path_len > MAX_PATH_BYTES) path_len = MAX_PATH_BYTES;
  size_t n = 0;
  line[n++] = 'f';
  line[n++] = '\0';
  memcpy(line + n, path, path_len);
  n += path_len;
  n += (size_t)snprintf(line + n, sizeof line - n, "%c%llu%c%o%c", '\0', (unsigned long long)size, '\0', mode & 0777, '\0');
  memcpy(line + n, hash16, 16);
  n += 16;
  return xxh64(line, n);
}
