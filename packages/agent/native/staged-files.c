/*
 * A message's whole small files, read and written without JavaScript per
 * file: the agent's first sync receives 50,000 of them, and per file it spent
 * more in parsing and checking the JSON header, the calls between its
 * objects and the collection of what they made than in the system calls
 * that write it (see src/apply/fast-files.ts, which drives both calls).
 *
 *   scanFrames(message, records): number
 *     Splits a message into its frames without acting on any, one record of
 *     RECORD_FIELDS doubles each (layout: R_* below), and returns how many.
 *     It stops early, before a frame whose prefix is out of bounds (the
 *     JavaScript decoder then reaches it and says why) or when `records` is
 *     full (the decoder takes the rest). A frame is marked fast (R_FAST = 1)
 *     only when it is a FILE frame that carries a whole file and whose
 *     header is exactly what JSON.stringify makes of a valid FileHeader:
 *
 *       {"batch":B,"path":"P","size":S,"mode":M,"mtime":T,"hash":"H","offset":0}
 *
 *     with B, S safe integers, M at most 07777, T a finite number >= 0
 *     without exponent, H 16 lowercase hex digits, P printable ASCII without
 *     '"' or '\' that checkRelPath's one-pass check accepts (paths.ts) and
 *     whose last name is not a temporary one (apply/temp-name.ts), and S
 *     the payload's length. Every such header is one the decoder accepts
 *     with the same values; anything else is left to the decoder.
 *
 *   writeStagedFiles(message, records, from, to, stage, umask): number
 *     Writes the fast frames from..to-1 into `stage` (a staged batch's
 *     directory, apply/stage.ts) as writeNewFile does, each created with
 *     openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): only at its real name,
 *     only under real directories, never over anything. It stops at the
 *     first file that cannot be made so (a parent missing or not a
 *     directory, a name taken, a link on the way, any failure: what it
 *     created of it is removed) and returns how many it wrote: JavaScript
 *     then takes that frame the usual way, which makes what is missing,
 *     replaces what is in the way or reports the failure. -(written + 1)
 *     when the kernel has no openat2 or refuses it (an older kernel, a
 *     seccomp filter): JavaScript writes every file itself from then on.
 *     Each written record gets the line hash of its manifest entry
 *     (protocol entry.ts: "f\0path\0size\0mode in octal\0hash") in
 *     R_LINE_HI and R_LINE_LO. umask: the process's, or -1 when unknown
 *     (every mode is then set explicitly).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <node_api.h>

#include "entry-line.h"
#include "file-write.h"
#include "napi-args.h"

/* The wire's limits and kinds (protocol limits.ts, messages.ts). */
#define FRAME_PREFIX_BYTES 9
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_CHUNK_BYTES (1024 * 1024)
#define MAX_PATH_BYTES 4096
#define MAX_NAME_BYTES 255
#define KIND_FILE 5
#define MAX_SAFE_INTEGER 9007199254740991ULL
#define MAX_MODE 07777
#define TEMP_PREFIX ".skiff-tmp-"

/* Record layout: keep in step with src/apply/fast-files.ts. */
enum { R_START, R_END, R_FAST, R_PATH, R_PATH_LEN, R_SIZE, R_MODE, R_MTIME, R_HASH, R_BATCH, R_LINE_HI, R_LINE_LO, RECORD_FIELDS };

/* The longest number text a fast header holds (mtime with its fraction). */
#define MAX_NUMBER_TEXT 40

typedef struct {
  const unsigned char *p;
  const unsigned char *end;
} cursor;

static int take(cursor *c, const char *literal) {
  size_t n = strlen(literal);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, literal, n) != 0) return 0;
  c->p += n;
  return 1;
}

/* A JSON integer as JSON.stringify writes one: "0" or no leading zero, at most MAX_SAFE_INTEGER. */
static int take_integer(cursor *c, uint64_t *out) {
  const unsigned char *start = c->p;
  uint64_t v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    if (c->p - start >= 16) return 0;
    v = v * 10 + (uint64_t)(*c->p - '0');
    c->p++;
  }
  size_t digits = (size_t)(c->p - start);
  if (digits == 0 || (digits > 1 && *start == '0') || v > MAX_SAFE_INTEGER) return 0;
  *out = v;
  return 1;
}

/*
 * A JSON number >= 0 without sign or exponent (JSON.stringify writes one for
 * every finite value below 1e21), read as JSON.parse reads it: strtod rounds
 * correctly too. Refused when the locale's decimal point is not '.'.
 */
static int take_time(cursor *c, double *out) {
  const unsigned char *start = c->p;
  uint64_t whole;
  if (!take_integer(c, &whole)) return 0;
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    const unsigned char *fraction = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    if (c->p == fraction) return 0;
  }
  size_t n = (size_t)(c->p - start);
  if (n >= MAX_NUMBER_TEXT) return 0;
  char text[MAX_NUMBER_TEXT];
  memcpy(text, start, n);
  text[n] = '\0';
  char *stop = NULL;
  double v = strtod(text, &stop);
  if (stop != text + n) return 0;
  *out = v;
  return 1;
}

/* checkRelPath's one-pass check (paths.ts plainValidAscii) over printable ASCII without '"' or '\'; a temporary last name refused too. */
static int plain_path(const unsigned char *p, size_t n) {
  if (n == 0 || n > MAX_PATH_BYTES) return 0;
  if (n >= 2 && p[1] == ':') return 0;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    unsigned char c = i < n ? p[i] : '/';
    if (i < n && (c < 0x20 || c > 0x7e || c == '"' || c == '\\')) return 0;
    if (c != '/') continue;
    size_t len = i - start;
    if (len == 0 || len > MAX_NAME_BYTES) return 0;
    if (p[start] == '.' && (len == 1 || (len == 2 && p[start + 1] == '.'))) return 0;
    if (i == n && len >= sizeof TEMP_PREFIX - 1 && memcmp(p + start, TEMP_PREFIX, sizeof TEMP_PREFIX - 1) == 0) return 0;
    start = i + 1;
  }
  return 1;
}

static int is_hash(const unsigned char *p) {
  for (int i = 0; i < 16; i++) {
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
  }
  return 1;
}

/* Fills rec's fast fields from a FILE header of `payload` bytes at [head, end); 0 when it is not a fast one. */
static int fast_file(const unsigned char *base, const unsigned char *head, const unsigned char *end, uint32_t payload, double *rec) {
  cursor c = {head, end};
  uint64_t batch, size, mode;
  double mtime;
  if (!take(&c, "{\"batch\":") || !take_integer(&c, &batch) || !take(&c, ",\"path\":\"")) return 0;
  const unsigned char *path = c.p;
  while (c.p < c.end && *c.p != '"') c.p++;
  size_t path_len = (size_t)(c.p - path);
  if (!plain_path(path, path_len)) return 0;
  if (!take(&c, "\",\"size\":") || !take_integer(&c, &size) || !take(&c, ",\"mode\":") || !take_integer(&c, &mode) ||
      !take(&c, ",\"mtime\":") || !take_time(&c, &mtime) || !take(&c, ",\"hash\":\"")) {
    return 0;
  }
  const unsigned char *hash = c.p;
  if (c.end - c.p < 16 || !is_hash(hash)) return 0;
  c.p += 16;
  if (!take(&c, "\",\"offset\":0}") || c.p != c.end) return 0;
  if (mode > MAX_MODE || size != payload) return 0;
  rec[R_PATH] = (double)(path - base);
  rec[R_PATH_LEN] = (double)path_len;
  rec[R_SIZE] = (double)size;
  rec[R_MODE] = (double)mode;
  rec[R_MTIME] = mtime;
  rec[R_HASH] = (double)(hash - base);
  rec[R_BATCH] = (double)batch;
  return 1;
}

static uint32_t read_u32_be(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int get_bytes(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  return napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) == napi_ok && type == want;
}

napi_value scan_frames(napi_env env, napi_callback_info info) {
  static const char usage[] = "scanFrames(message, records)";
  size_t argc = 2;
  napi_value argv[2];
  unsigned char *msg = NULL;
  double *records = NULL;
  size_t length = 0, slots = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      !get_bytes(env, argv[0], napi_uint8_array, (void **)&msg, &length) ||
      !get_bytes(env, argv[1], napi_float64_array, (void **)&records, &slots)) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  size_t capacity = slots / RECORD_FIELDS, count = 0, at = 0;
  while (at < length && count < capacity) {
    if (length - at < FRAME_PREFIX_BYTES) break;
    uint32_t head_len = read_u32_be(msg + at + 1);
    uint32_t payload_len = read_u32_be(msg + at + 5);
    if (head_len > MAX_HEADER_BYTES || payload_len > MAX_CHUNK_BYTES) break;
    size_t head = at + FRAME_PREFIX_BYTES;
    size_t end = head + head_len + payload_len;
    if (end > length) break;
    double *rec = records + count * RECORD_FIELDS;
    rec[R_START] = (double)at;
    rec[R_END] = (double)end;
    rec[R_FAST] = msg[at] == KIND_FILE && fast_file(msg, msg + head, msg + head + head_len, payload_len, rec) ? 1 : 0;
    count++;
    at = end;
  }
  return number_value(env, (double)count);
}

/* openat2 is missing or refused (an older kernel, a seccomp filter): write_one's answer then. */
#define UNAVAILABLE -1

/* Creates `path` under `dir` only through real directories and never over anything. */
static int openat2_file(int dir, const char *path, uint32_t mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return (int)syscall(SYS_openat2, dir, path, &how, sizeof how);
}

/* Writes one fast record's file under `dir`: 0, UNAVAILABLE, or the errno that stopped it (nothing of it left). */
static int write_one(int dir, const unsigned char *msg, const double *rec, int umask_bits) {
  char path[MAX_PATH_BYTES + 1];
  size_t path_len = (size_t)rec[R_PATH_LEN];
  memcpy(path, msg + (size_t)rec[R_PATH], path_len);
  path[path_len] = '\0';
  uint32_t mode = (uint32_t)rec[R_MODE] & 0777;
  int fd = openat2_file(dir, path, mode);
  if (fd < 0) return errno == ENOSYS || errno == EPERM || errno == EINVAL || errno == E2BIG ? UNAVAILABLE : errno;
  size_t size = (size_t)rec[R_SIZE];
  int chmod = umask_bits < 0 || (mode & (uint32_t)umask_bits) != 0;
  int step = 0;
  /* toSeconds (apply/context.ts): the seconds writeNewFile is given. */
  int err = fill_new_file(fd, msg + (size_t)rec[R_END] - size, size, mode, chmod, rec[R_MTIME] / 1000, &step);
  if (err != 0) unlinkat(dir, path, 0);
  return err;
}

/* A record scanFrames marked fast, inside a message of `length` bytes (records are the caller's to keep intact). */
static int sound_record(const double *rec, size_t length) {
  return rec[R_FAST] == 1 && rec[R_END] <= (double)length && rec[R_SIZE] <= rec[R_END] && rec[R_PATH_LEN] <= MAX_PATH_BYTES &&
         rec[R_PATH] + rec[R_PATH_LEN] <= (double)length && rec[R_HASH] + 16 <= (double)length;
}

/* The manifest line hash of a fast record. */
static void line_hash(const unsigned char *msg, double *rec) {
  uint64_t h = file_line_hash((const char *)msg + (size_t)rec[R_PATH], (size_t)rec[R_PATH_LEN], (uint64_t)rec[R_SIZE], (unsigned)rec[R_MODE],
                              (const char *)msg + (size_t)rec[R_HASH]);
  rec[R_LINE_HI] = (double)(uint32_t)(h >> 32);
  rec[R_LINE_LO] = (double)(uint32_t)h;
}

napi_value write_staged_files(napi_env env, napi_callback_info info) {
  static const char usage[] = "writeStagedFiles(message, records, from, to, stage, umask)";
  size_t argc = 6;
  napi_value argv[6];
  unsigned char *msg = NULL;
  double *records = NULL;
  size_t length = 0, slots = 0, stage_len = 0;
  uint32_t from = 0, to = 0;
  int32_t umask_bits = -1;
  char stage[MAX_PATH_BYTES + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      !get_bytes(env, argv[0], napi_uint8_array, (void **)&msg, &length) ||
      !get_bytes(env, argv[1], napi_float64_array, (void **)&records, &slots) ||
      napi_get_value_uint32(env, argv[2], &from) != napi_ok || napi_get_value_uint32(env, argv[3], &to) != napi_ok ||
      napi_get_value_string_utf8(env, argv[4], stage, sizeof stage, &stage_len) != napi_ok ||
      napi_get_value_int32(env, argv[5], &umask_bits) != napi_ok || stage_len >= sizeof stage - 1 ||
      from > to || to > slots / RECORD_FIELDS) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  for (uint32_t i = from; i < to; i++) {
    const double *rec = records + (size_t)i * RECORD_FIELDS;
    if (!sound_record(rec, length)) {
      napi_throw_range_error(env, "SKIFF_E_INTERNAL", "writeStagedFiles: a record that is not a fast file of this message");
      return NULL;
    }
  }
  int dir = open(stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return number_value(env, 0);
  uint32_t i = from;
  double result;
  for (;; i++) {
    if (i == to) {
      result = (double)(i - from);
      break;
    }
    double *rec = records + (size_t)i * RECORD_FIELDS;
    int err = write_one(dir, msg, rec, umask_bits);
    if (err == UNAVAILABLE) {
      result = -(double)(i - from) - 1;
      break;
    }
    if (err != 0) {
      result = (double)(i - from);
      break;
    }
    line_hash(msg, rec);
  }
  close(dir);
  return number_value(env, result);
}
