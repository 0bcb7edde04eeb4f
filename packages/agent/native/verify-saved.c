/*
 * verifySaved(root, paths, numbers, held, rule): a walk of a tree against
 * saved rows of it, in one call: the agent's start-up walk of its root
 * against the manifest it saved (RULE_MANIFEST), and the one-shot push's walk
 * of the project against its index (RULE_INDEX).
 *
 * A restart of an unchanged root of 54,000 entries spent ~110 ms walking it
 * in JavaScript (a listing per directory, a path string and a map lookup per
 * entry) around system calls that take ~55 ms in C, and ~45 ms more loading
 * the saved manifest into a map of its paths: this walk needs neither. The
 * push's walk of the same tree took ~150 ms, ~75 of them its listings.
 *
 *   root     the tree's absolute path
 *   paths    the rows' paths: UTF-8, joined by NUL
 *   numbers  the rows, STAT_ROW_FIELDS doubles each: for RULE_MANIFEST as
 *            stat-cache.ts lays them out (type, size, mtime, mode, then
 *            lstat's ino, mtimeMs, ctimeMs, st_mode, then the line hash's
 *            halves); for RULE_INDEX as the daemon's native-walk.ts does
 *   held     one byte per row, set to 1 for each row the walk vouches for
 *   rule     RULE_MANIFEST (the default) or RULE_INDEX
 *
 * A row matches exactly as SavedManifest.rowMatches (RULE_MANIFEST) or
 * unchangedEntry (RULE_INDEX) decides: same doubles, same order of operations
 * for mtimeMs and ctimeMs, so the same IEEE results (binding.gyp builds with
 * -ffp-contract=off, no fused multiply-add). An entry whose name is not UTF-8
 * or that vanished under the walk never matches. The walk goes into the
 * directories whose row matched; with RULE_INDEX into every directory of the
 * rows still a directory, changed or not (a file added changes its mtime;
 * its other entries may well match). Every entry that did not match is
 * returned with its lstat, for the JavaScript scan to take as it takes any
 * changed entry:
 *
 *   { names, stats, failed, matched, order, dirs }
 *     names   the unmatched entries' paths relative to the root, each followed
 *             by a NUL (a listing of lstatDir's shape, paths for names)
 *     stats   LSTAT_FIELDS doubles per unmatched entry, as lstatDir gives them
 *             (flags + LSTAT_WALKED: a directory the walk went into)
 *     failed  the relative paths of directories that could not be listed
 *             (other than gone), each followed by a NUL: the caller lists
 *             them again to say why
 *     matched rows vouched for
 *     order   every entry in walk order (each directory's own entry before
 *             its entries): its row when it matched, else -(k + 1) for the
 *             k-th unmatched
 *     dirs    per directory listed, two int32s: where its entries start in
 *             `order`, and the directory as `order` names it (ROOT_ID: the root)
 *
 * null when `paths` does not hold one distinct path per row (the caller
 * walks in JavaScript then). Runs on the calling thread: the agent's at its
 * start, and a one-shot push's, which has nothing else to do meanwhile.
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

/* A hash of a path, 8 bytes at a time: every entry of the walk is looked up by its path. */
static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, p, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 29);
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
    size_t slot = hash_bytes(bytes + at, n) & t->mask;
    for (uint32_t v; (v = t->slots[slot]) != 0; slot = (slot + 1) & t->mask) {
      /* Twice the same path: not rows any agent or daemon wrote (theirs are a map's). */
      if (t->length[v - 1] == n && memcmp(bytes + t->offset[v - 1], bytes + at, n) == 0) return 0;
    }
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

/*
 * The daemon's index (rule RULE_INDEX): stat-entry.ts's unchangedEntry. Row:
 * type (ROW_FILE for a file whose hash is known, ROW_DIR; anything else never
 * matches), size, -, permission bits, ino, mtimeMs, st_nlink as recorded
 * (at least 1). A file: same size, mtime, inode, permissions and link count;
 * a directory: same permissions, mtime and inode.
 */
static int index_row_matches(const double *n, const double *f) {
  double mtime_ms = f[3] * 1e3 + f[4] / 1e6;
  mode_t mode = (mode_t)f[0];
  if (n[4] != f[1] || n[5] != mtime_ms || n[3] != (double)(mode & 0777)) return 0;
  if (n[0] == ROW_DIR) return (mode & S_IFMT) == S_IFDIR;
  return n[0] == ROW_FILE && (mode & S_IFMT) == S_IFREG && n[1] == f[2] && n[6] == (f[7] < 1 ? 1 : f[7]);
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

/* The root's id in `dirs`: it is no row and no unmatched entry. */
#define ROOT_ID INT32_MIN
#define RULE_MANIFEST 0
#define RULE_INDEX 1
/* Added to an unmatched entry's flags: a directory of the rows the walk went into all the same (RULE_INDEX). */
#define LSTAT_WALKED 4.0

typedef struct {
  path_table table;
  const double *numbers;
  uint8_t *held;
  const char *root;
  int rule;
  /* order: an int32 per entry in walk order, the row (matched) or -(k + 1) (the k-th unmatched) */
  /* ids: per path of `stack`, the directory's own place in `order` terms (its row, -(k + 1), or ROOT_ID);
     dirs: per directory listed, where its entries start in `order` and its id */
  bytes_out names, stats, failed, stack, ids, rel, abs, order, dirs;
  double matched;
  int32_t unmatched;
} walk;

static void walk_free(walk *w) {
  table_free(&w->table);
  free(w->names.data);
  free(w->stats.data);
  free(w->failed.data);
  free(w->stack.data);
  free(w->ids.data);
  free(w->dirs.data);
  free(w->rel.data);
  free(w->abs.data);
  free(w->order.data);
}

/* Walks one directory (relative path `dir`, `dir_len` bytes, its id as `dirs` records it); 0 when memory ran out. */
static int walk_dir(walk *w, const char *dir, size_t dir_len, int32_t id) {
  if (!join_rel(&w->abs, w->root, strlen(w->root), dir, dir_len)) return 0;
  if (dir_len == 0) w->abs.data[w->abs.len - 2] = 0; /* the root itself, without a trailing slash */
  listing l = {.path = w->abs.data};
  list_dir(&l);
  l.path = NULL; /* owned by w->abs */
  int32_t start[2] = {(int32_t)(w->order.len / sizeof(int32_t)), id};
  int ok = l.err != 0 || append(&w->dirs, start, sizeof start);
  if (!ok) {
    /* out of memory: reported below */
  } else if (l.err != 0 && l.err != LISTING_GONE) {
    static const char nul = 0;
    ok = append(&w->failed, dir, dir_len) && append(&w->failed, &nul, 1);
  } else if (l.err == 0) {
    const char *name = l.names;
    for (size_t i = 0; i < l.count && ok; i++) {
      size_t name_len = strlen(name);
      const double *f = l.stats + i * LSTAT_FIELDS;
      ok = join_rel(&w->rel, dir, dir_len, name, name_len);
      long row = ok && f[9] == 0 ? table_find(&w->table, w->rel.data, w->rel.len - 1) : -1;
      const double *n = row >= 0 ? w->numbers + row * STAT_ROW_FIELDS : NULL;
      int matches = n != NULL && (w->rule == RULE_INDEX ? index_row_matches(n, f) : row_matches(n, f));
      /* Into a matched directory; with RULE_INDEX into any directory of the rows, changed or not. */
      int into = n != NULL && n[0] == ROW_DIR && ((mode_t)f[0] & S_IFMT) == S_IFDIR && (matches || w->rule == RULE_INDEX);
      if (!ok) break;
      int32_t at;
      if (matches) {
        w->held[row] = 1;
        w->matched++;
        at = (int32_t)row;
        ok = append(&w->order, &at, sizeof at);
      } else {
        double flagged[LSTAT_FIELDS];
        memcpy(flagged, f, sizeof flagged);
        if (into) flagged[9] += LSTAT_WALKED;
        at = -(++w->unmatched);
        ok = append(&w->names, w->rel.data, w->rel.len) && append(&w->stats, flagged, sizeof flagged) && append(&w->order, &at, sizeof at);
      }
      if (ok && into) ok = append(&w->stack, w->rel.data, w->rel.len) && append(&w->ids, &at, sizeof at);
      name += name_len + 1;
    }
  }
  listing_free(&l);
  return ok;
}

static napi_value walk_value(napi_env env, walk *w) {
  napi_value result, names, failed, stats, matched, order, dirs;
  if (napi_create_string_utf8(env, w->names.len ? w->names.data : "", w->names.len, &names) != napi_ok ||
      napi_create_string_utf8(env, w->failed.len ? w->failed.data : "", w->failed.len, &failed) != napi_ok ||
      (stats = typed_array_of(env, napi_float64_array, w->stats.data, w->stats.len, sizeof(double))) == NULL ||
      (order = typed_array_of(env, napi_int32_array, w->order.data, w->order.len, sizeof(int32_t))) == NULL ||
      (dirs = typed_array_of(env, napi_int32_array, w->dirs.data, w->dirs.len, sizeof(int32_t))) == NULL ||
      napi_create_double(env, w->matched, &matched) != napi_ok || napi_create_object(env, &result) != napi_ok) {
    return NULL;
  }
  static const char *keys[] = {"names", "stats", "failed", "matched", "order", "dirs"};
  napi_value values[] = {names, stats, failed, matched, order, dirs};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (napi_set_named_property(env, result, keys[i], values[i]) != napi_ok) return NULL;
  }
  return result;
}

napi_value verify_saved(napi_env env, napi_callback_info info) {
  static const char usage[] = "verifySaved(root: string, paths: Uint8Array, numbers: Float64Array, held: Uint8Array, rule?: 0 | 1)";
  size_t argc = 5;
  napi_value argv[5], result;
  int32_t rule = RULE_MANIFEST;
  napi_typedarray_type paths_type, numbers_type, held_type;
  size_t paths_len = 0, numbers_len = 0, held_len = 0;
  void *paths = NULL, *numbers = NULL, *held = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_typedarray_info(env, argv[1], &paths_type, &paths_len, &paths, NULL, NULL) != napi_ok || paths_type != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[2], &numbers_type, &numbers_len, &numbers, NULL, NULL) != napi_ok || numbers_type != napi_float64_array ||
      napi_get_typedarray_info(env, argv[3], &held_type, &held_len, &held, NULL, NULL) != napi_ok || held_type != napi_uint8_array ||
      numbers_len % STAT_ROW_FIELDS != 0 || held_len != numbers_len / STAT_ROW_FIELDS ||
      (argc >= 5 && (napi_get_value_int32(env, argv[4], &rule) != napi_ok || (rule != RULE_MANIFEST && rule != RULE_INDEX)))) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  walk w = {0};
  w.root = string_arg(env, argv[0], usage);
  if (w.root == NULL) return NULL;
  w.numbers = numbers;
  w.held = held;
  w.rule = rule;
  int ok = 1;
  if (!table_build(&w.table, paths, paths_len, held_len)) {
    ok = -1;
  } else {
    static const char nul = 0;
    int32_t root_id = ROOT_ID;
    ok = append(&w.stack, &nul, 1) && append(&w.ids, &root_id, sizeof root_id); /* the root: an empty relative path */
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
      w.ids.len -= sizeof(int32_t);
      int32_t id;
      memcpy(&id, w.ids.data + w.ids.len, sizeof id);
      ok = walk_dir(&w, dir, dir_len, id);
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
