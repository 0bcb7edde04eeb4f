/*
 * packFile(root, path, message, at, batch, mode, mtime, expected, out): number
 *
 * One small file of a push read straight into the message being packed, as
 * a whole FILE frame (prefix, header, content), hashed on the way. The
 * daemon's send loop (sync/send-batch.ts) otherwise read each file into a
 * buffer, hashed it through the wasm hasher, made and serialised a header
 * object and copied the content into the message: for the 50,000 files of a
 * first sync, more time than the reads themselves.
 *
 * The header is the one JSON.stringify makes of a FileHeader with these
 * values, but for the mtime, written with 17 significant digits (which
 * reads back as the same double; JSON.stringify writes the shortest text
 * that does): {"batch":B,"path":"P","size":N,"mode":M,"mtime":T,"hash":"H","offset":0}
 *
 *   root, path  the file is root/path; `path` is its wire path
 *   message     the message buffer; the frame is written at byte `at`, and
 *               room for the largest one must be there (JS reserves it)
 *   expected    the size the scan saw: the content is read where a header
 *               for that size ends, and moved only when the size changed
 *               its number of digits
 *   out         Float64Array: [size read, offset of the hash's 16 digits in
 *               the message, the manifest line hash's high and low halves
 *               (protocol entry.ts entryLine)]
 *
 * Returns the offset after the frame, or PACK_LARGE (the file has grown past
 * one chunk: sent as a large file), PACK_NOT_PLAIN (a path or mtime this
 * layout does not cover: sent the usual way), or -(errno * 8 + step) as
 * readFileInto reports a failure. Nothing written past `at` counts then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <node_api.h>

#include "entry-line.h"
#include "file-write.h"
#include "napi-args.h"
#include "xxh64.h"

#define FRAME_PREFIX_BYTES 9
#define MAX_CHUNK_BYTES (1024 * 1024)
#define MAX_PATH_BYTES 4096
#define KIND_FILE 5
#define PACK_LARGE -1
#define PACK_NOT_PLAIN -2
/* Past 1e17, %.17g would write an exponent. */
#define MAX_PLAIN_MTIME 1e17

/* Printable ASCII without '"' or '\': written into JSON as it is. */
static int plain_text(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return 0;
  }
  return 1;
}

static int header(char *out, size_t room, uint32_t batch, const char *path, size_t path_len, size_t size, uint32_t mode, const char *mtime,
                  uint64_t hash) {
  return snprintf(out, room, "{\"batch\":%u,\"path\":\"%.*s\",\"size\":%zu,\"mode\":%u,\"mtime\":%s,\"hash\":\"%016llx\",\"offset\":0}", batch,
                  (int)path_len, path, size, mode, mtime, (unsigned long long)hash);
}

static void put_u32_be(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

napi_value pack_file(napi_env env, napi_callback_info info) {
  static const char usage[] = "packFile(root, path, message, at, batch, mode, mtime, expected, out)";
  size_t argc = 9;
  napi_value argv[9];
  char abs[2 * MAX_PATH_BYTES + 2];
  size_t root_len = 0, path_len = 0, length = 0, slots = 0;
  unsigned char *msg = NULL;
  double *out = NULL, mtime = 0, at_d = 0, expected_d = 0;
  uint32_t batch = 0, mode = 0;
  napi_typedarray_type type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 9 ||
      napi_get_value_string_utf8(env, argv[0], abs, MAX_PATH_BYTES + 1, &root_len) != napi_ok || root_len >= MAX_PATH_BYTES ||
      napi_get_typedarray_info(env, argv[2], &type, &length, (void **)&msg, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      napi_get_value_double(env, argv[3], &at_d) != napi_ok || napi_get_value_uint32(env, argv[4], &batch) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &mode) != napi_ok || napi_get_value_double(env, argv[6], &mtime) != napi_ok ||
      napi_get_value_double(env, argv[7], &expected_d) != napi_ok ||
      napi_get_typedarray_info(env, argv[8], &type, &slots, (void **)&out, NULL, NULL) != napi_ok || type != napi_float64_array || slots < 4) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  abs[root_len] = '/';
  char *path = abs + root_len + 1;
  if (napi_get_value_string_utf8(env, argv[1], path, MAX_PATH_BYTES + 1, &path_len) != napi_ok) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  char mtime_text[32];
  if (path_len == 0 || path_len >= MAX_PATH_BYTES || !plain_text(path, path_len) || !(mtime >= 0 && mtime < MAX_PLAIN_MTIME)) {
    return number_value(env, PACK_NOT_PLAIN);
  }
  snprintf(mtime_text, sizeof mtime_text, "%.17g", mtime);
  size_t at = (size_t)at_d;
  size_t expected = expected_d > MAX_CHUNK_BYTES ? MAX_CHUNK_BYTES : (size_t)expected_d;
  /* Where a header for the expected size ends (its hash's digits do not change its length). */
  char head[MAX_PATH_BYTES + 256];
  int guess = header(head, sizeof head, batch, path, path_len, expected, mode, mtime_text, 0);
  if (guess < 0 || (size_t)guess >= sizeof head || at + FRAME_PREFIX_BYTES + (size_t)guess + MAX_CHUNK_BYTES + 1 > length) {
    napi_throw_range_error(env, "SKIFF_E_INTERNAL", "packFile: no room in the message for the largest frame");
    return NULL;
  }
  unsigned char *content = msg + at + FRAME_PREFIX_BYTES + guess;
  int fd = open(abs, O_RDONLY | O_CLOEXEC);
  if (fd == -1) return number_value(env, IO_FAILED(errno, STEP_OPEN));
  size_t got = 0;
  int err = read_whole(fd, content, MAX_CHUNK_BYTES + 1, expected, &got);
  close(fd);
  if (err != 0) return number_value(env, IO_FAILED(err, STEP_READ));
  if (got > MAX_CHUNK_BYTES) return number_value(env, PACK_LARGE);
  uint64_t hash = xxh64(content, got);
  int head_len = header(head, sizeof head, batch, path, path_len, got, mode, mtime_text, hash);
  unsigned char *frame = msg + at;
  if (head_len != guess) memmove(frame + FRAME_PREFIX_BYTES + head_len, content, got);
  frame[0] = KIND_FILE;
  put_u32_be(frame + 1, (uint32_t)head_len);
  put_u32_be(frame + 5, (uint32_t)got);
  memcpy(frame + FRAME_PREFIX_BYTES, head, (size_t)head_len);
  /* The hash's 16 digits end the header 13 bytes before its end: ","offset":0} follows them. */
  size_t hash_at = at + FRAME_PREFIX_BYTES + (size_t)head_len - 13 - 16;
  uint64_t line_hash = file_line_hash(path, path_len, got, mode, (const char *)msg + hash_at);
  out[0] = (double)got;
  out[1] = (double)hash_at;
  out[2] = (double)(uint32_t)(line_hash >> 32);
  out[3] = (double)(uint32_t)line_hash;
  return number_value(env, (double)(at + FRAME_PREFIX_BYTES + (size_t)head_len + got));
}
