/*
 * verifySaved(root, paths, numbers, held): the agent's start-up walk of its
 * root against the manifest it saved, in one call.
 *
 * A restart of an unchanged root of 54,000 entries spent ~110 ms walking it
 * in JavaScript (a listing per directory, a path string and a map lookup per
 * entry) around system calls that take ~55 ms in C, and ~45 ms more loading
 * the saved manifest into a map of its paths: this walk needs neither.
 *
 *   root     the root's absolute path
 *   paths    the saved manifest's paths block: UTF-8 paths joined by NUL
 *   numbers  its rows, STAT_ROW_FIELDS doubles each (stat-cache.ts: type,
 *            size, mtime, mode, then lstat's ino, mtimeMs, ctimeMs, st_mode,
 *            then the line hash's halves)
 *   held     one byte per row, set to 1 for each row the walk vouches for
 *
 * The walk descends only into directories whose row matched. A row matches
 * exactly as SavedManifest.rowMatches decides (same doubles, same order of
 * operations for mtimeMs and ctimeMs, so the same IEEE results: binding.gyp
 * builds with -ffp-contract=off, no fused multiply-add); an entry
 * whose name is not UTF-8 or that vanished under the walk never matches.
 * Every entry that did not match is returned, with its lstat, for the
 * JavaScript scan to take as it takes any changed entry:
 *
 *   { names, stats, failed, matched }
 *     names   the unmatched entries' paths relative to the root, each followed
 *             by a NUL (a listing of lstatDir's shape, paths for names)
 *     stats   LSTAT_FIELDS doubles per unmatched entry, as lstatDir gives them
 *     failed  the relative paths of directories that could not be listed
 *             (other than gone), each followed by a NUL: the caller lists
 *             them again to say why
 *     matched rows vouched for
 *
 * null when `paths` does not hold one distinct path per row (the caller
 * walks in JavaScript then). Only ever called on the agent's main thread, at start.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "list-dir.h"
#include "napi-args.h"

#define STAT_ROW_FIELDS 10
#define ROW_FILE 0.0
#define ROW_LINK 1.0
#define ROW_DIR 2.0
/* Number.MAX_SAFE_INTEGER */
#define MAX_SAFE 9007199254740991.0

typedef struct {
  const char *bytes;
  uint32_t *offset;
  uint32_t *length;
  uint32_t *slots; /* row + 1, 0 empty; a power of two of them */
  size_t mask;
} path_table;

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  return h;
}

static void table_free(path_table *t) {
  free(t->offset);
  free(t->length);
  free(t->slots);
}

static long table_find(const path_table *t, const char *p, size_t n) {
  size_t slot = hash_bytes(p, n) & t->mask;
  for (uint32_t v; (v = t->slots[slot]) != 0; slot = (slot + 1) & t->mask) {
    uint32_t row = v - 1;
    if (t->length[row] == n && memcmp(t->bytes + t->offset[row], p, n) == 0) return row;
  }
  return -1;
}

/* Indexes the rows' paths; 0 when the block does not hold exactly `rows` of them (or memory ran out). */
static int table_build(path_table *t, const char *bytes, size_t len, size_t rows) {
  memset(t, 0, sizeof *t);
  t->bytes = bytes;
  size_t cap = 16;
  while (cap < rows * 2) cap *= 2;
  t->mask = cap - 1;
  t->offset = malloc((rows ? rows : 1) * sizeof(uint32_t));
  t->length = malloc((rows ? rows : 1) * sizeof(uint32_t));
  t->slots = calloc(cap, sizeof(uint32_t));
  if (t->offset == NULL || t->length == NULL || t->slots == NULL || len > UINT32_MAX) return 0;
  size_t at = 0;
  for (size_t row = 0; row < rows; row++) {
    const char *end = memchr(bytes + at, 0, len - at);
    size_t n = end == NULL ? len - at : (size_t)(end - (bytes + at));
    if (end == NULL && row + 1 != rows) return 0;
    t->offset[row] = (uint32_t)at;
    t->length[row] = (uint32_t)n;
    /* Twice the same path: not a manifest any agent wrote (its rows are a map's). */
    if (table_find(t, bytes + at, n) >= 0) return 0;
    size_t slot = hash_bytes(bytes + at, n) & t->mask;
    while (t->slots[slot] != 0) slot = (slot + 1) & t->mask;
    t->slots[slot] = (uint32_t)row + 1;
    at += n + 1;
  }
  return rows == 0 ? len == 0 : at == len + 1;
}


static int is_count(double v) { return v >= 0 && v <= MAX_SAFE && (double)(int64_t)v == v; }
/* Number.isInteger, within the safe range (a line hash's half is a 32-bit integer): stricter only for rows no agent writes. */
static int is_integer(double v) { return v >= -MAX_SAFE && v <= MAX_SAFE && (double)(int64_t)v == v; }

/* SavedManifest.rowMatches over one lstatDir entry `f`. */
static int row_matches(const double *n, const double *f) {
  double mode = f[0], mtime_ms = f[3] * 1e3 + f[4] / 1e6, ctime_ms = f[5] * 1e3 + f[6] / 1e6;
  if (n[4] != f[1] || n[5] != mtime_ms || n[6] != ctime_ms || n[7] != mode) return 0;
  mode_t type = (mode_t)mode & S_IFMT;
  if (n[0] == ROW_DIR) {
    if (type != S_IFDIR) return 0;
  } else if (!((n[0] == ROW_FILE && type == S_IFREG) || (n[0] == ROW_LINK && type == S_IFLNK)) || n[1] != f[2]) {
    return 0;
  }
  /* wellFormed: size, mtime, mode (permission bits only) and the line hash's halves. */
  return is_count(n[1]) && n[2] >= 0 && n[2] <= 1.7976931348623157e308 && is_count(n[3]) && n[3] <= 0777 && is_integer(n[8]) && is_integer(n[9]);
}

/* A growing byte buffer (NUL-separated strings) or double buffer. */
typedef struct {
  char *data;
  size_t len, cap;
} bytes_out;

static int append(bytes_out *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t next = (b->cap + n) * 2;
    char *grown = realloc(b->data, next);
    if (grown == NULL) return 0;
    b->data = grown;
    b->cap = next;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 1;
}

/* `dir/name` (or `name` at the root) with its NUL, into `out`. */
static int join_rel(bytes_out *out, const char *dir, size_t dir_len, const char *name, size_t name_len) {
  out->len = 0;
  static const char slash = '/', nul = 0;
  return (dir_len == 0 || (append(out, dir, dir_len) && append(out, &slash, 1))) && append(out, name, name_len) && append(out, &nul, 1);
}

typedef struct {
  path_table table;
  const double *numbers;
  uint8_t *held;
  const char *root;
  bytes_out names, stats, failed, stack, rel, abs;
  double matched;
} walk;

static void walk_free(walk *w) {
  table_free(&w->table);
  free(w->names.data);
  free(w->stats.data);
  free(w->failed.data);
  free(w->stack.data);
  free(w->rel.data);
  free(w->abs.data);
}

/* Walks one directory (relative path `dir`, `dir_len` bytes); 0 when memory ran out. */
static int walk_dir(walk *w, const char *dir, size_t dir_len) {
  if (!join_rel(&w->abs, w->root, strlen(w->root), dir, dir_len)) return 0;
  if (dir_len == 0) w->abs.data[w->abs.len - 2] = 0; /* the root itself, without a trailing slash */
  listing l = {.path = w->abs.data};
  list_dir(&l);
  l.path = NULL; /* owned by w->abs */
  int ok = 1;
  if (l.err != 0 && l.err != LISTING_GONE) {
    static const char nul = 0;
    ok = append(&w->failed, dir, dir_len) && append(&w->failed, &nul, 1);
  } else if (l.err == 0) {
    const char *name = l.names;
    for (size_t i = 0; i < l.count && ok; i++) {
      size_t name_len = strlen(name);
      const double *f = l.stats + i * LSTAT_FIELDS;
      ok = join_rel(&w->rel, dir, dir_len, name, name_len);
      long row = ok && f[9] == 0 ? table_find(&w->table, w->rel.data, w->rel.len - 1) : -1;
      if (row >= 0 && row_matches(w->numbers + row * STAT_ROW_FIELDS, f)) {
        w->held[row] = 1;
        w->matched++;
        if (w->numbers[row * STAT_ROW_FIELDS] == ROW_DIR) ok = append(&w->stack, w->rel.data, w->rel.len);
      } else if (ok) {
        ok = append(&w->names, w->rel.data, w->rel.len) && append(&w->stats, f, LSTAT_FIELDS * sizeof(double));
      }
      name += name_len + 1;
    }
  }
  listing_free(&l);
  return ok;
}

static napi_value walk_value(napi_env env, walk *w) {
  napi_value result, names, failed, buffer, typed, matched;
  void *data = NULL;
  size_t doubles = w->stats.len / sizeof(double);
  if (napi_create_string_utf8(env, w->names.len ? w->names.data : "", w->names.len, &names) != napi_ok ||
      napi_create_string_utf8(env, w->failed.len ? w->failed.data : "", w->failed.len, &failed) != napi_ok ||
      napi_create_arraybuffer(env, w->stats.len, &data, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, doubles, buffer, 0, &typed) != napi_ok || napi_create_double(env, w->matched, &matched) != napi_ok ||
      napi_create_object(env, &result) != napi_ok) {
    return NULL;
  }
  if (w->stats.len > 0) memcpy(data, w->stats.data, w->stats.len);
  if (napi_set_named_property(env, result, "names", names) != napi_ok || napi_set_named_property(env, result, "stats", typed) != napi_ok ||
      napi_set_named_property(env, result, "failed", failed) != napi_ok || napi_set_named_property(env, result, "matched", matched) != napi_ok) {
    return NULL;
  }
  return result;
}

napi_value verify_saved(napi_env env, napi_callback_info info) {
  static const char usage[] = "verifySaved(root: string, paths: Uint8Array, numbers: Float64Array, held: Uint8Array)";
  size_t argc = 4;
  napi_value argv[4], result;
  napi_typedarray_type paths_type, numbers_type, held_type;
  size_t paths_len = 0, numbers_len = 0, held_len = 0;
  void *paths = NULL, *numbers = NULL, *held = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_typedarray_info(env, argv[1], &paths_type, &paths_len, &paths, NULL, NULL) != napi_ok || paths_type != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[2], &numbers_type, &numbers_len, &numbers, NULL, NULL) != napi_ok || numbers_type != napi_float64_array ||
      napi_get_typedarray_info(env, argv[3], &held_type, &held_len, &held, NULL, NULL) != napi_ok || held_type != napi_uint8_array ||
      numbers_len % STAT_ROW_FIELDS != 0 || held_len != numbers_len / STAT_ROW_FIELDS) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  walk w = {0};
  w.root = string_arg(env, argv[0], usage);
  if (w.root == NULL) return NULL;
  w.numbers = numbers;
  w.held = held;
  int ok = 1;
  if (!table_build(&w.table, paths, paths_len, held_len)) {
    ok = -1;
  } else {
    static const char nul = 0;
    ok = append(&w.stack, &nul, 1); /* the root: an empty relative path */
    while (ok && w.stack.len > 0) {
      /* Pop the last path of the stack (each ends with its NUL). */
      size_t end = w.stack.len - 1, start = end;
      while (start > 0 && w.stack.data[start - 1] != 0) start--;
      size_t dir_len = end - start;
      char *dir = malloc(dir_len + 1);
      if (dir == NULL) {
        ok = 0;
        break;
      }
      memcpy(dir, w.stack.data + start, dir_len + 1);
      w.stack.len = start;
      ok = walk_dir(&w, dir, dir_len);
      free(dir);
    }
  }
  result = NULL;
  if (ok == 1) {
    result = walk_value(env, &w);
    if (result == NULL) napi_throw_error(env, "SKIFF_E_INTERNAL", "verifySaved: could not make the result");
  } else if (ok == -1) {
    napi_get_null(env, &result);
  } else {
    napi_throw_error(env, "SKIFF_E_IO", "verifySaved: out of memory");
  }
  free((char *)w.root);
  walk_free(&w);
  return result;
}
