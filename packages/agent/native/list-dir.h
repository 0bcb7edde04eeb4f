/* Directory listings with every entry's lstat: see list-dir.c. */
#ifndef SKIFF_LIST_DIR_H
#define SKIFF_LIST_DIR_H

#include <stddef.h>
#include <node_api.h>

#define LSTAT_FIELDS 10
#define LSTAT_NOT_UTF8 1.0
#define LSTAT_VANISHED 2.0

/* One directory's listing, made without touching JavaScript (so on any thread). */
typedef struct {
  char *path;
  /* 0: listed; LISTING_GONE: gone or not a directory; else the errno of `what`. */
  int err;
  const char *what;
  char *names;
  size_t names_len;
  double *stats;
  size_t count;
} listing;

#define LISTING_GONE -1

/* Lists l->path into l (l->err set on failure; listing_free frees what it holds either way). */
void list_dir(listing *l);
void listing_free(listing *l);
/* An Error (code SKIFF_E_IO) naming `what` and errno `err`; NULL when Node-API failed. */
napi_value errno_error(napi_env env, const char *what, int err);
/* A typed array of `type` holding a copy of `bytes` bytes of `data` (elements of `element` bytes); NULL when Node-API failed. */
napi_value typed_array_of(napi_env env, napi_typedarray_type type, const void *data, size_t bytes, size_t element);
/* The JavaScript value of a listing: { names, stats }, null (gone) or an Error; NULL when Node-API failed. */
napi_value listing_value(napi_env env, const listing *l);


napi_value lstat_dir(napi_env env, napi_callback_info info);
napi_value lstat_dirs(napi_env env, napi_callback_info info);
/* verifySaved: see verify-saved.c. */
napi_value verify_saved(napi_env env, napi_callback_info info);
/* scanFrames, writeStagedFiles: see staged-files.c. */
napi_value scan_frames(napi_env env, napi_callback_info info);
napi_value write_staged_files(napi_env env, napi_callback_info info);
/* packFile: see pack-file.c. */
napi_value pack_file(napi_env env, napi_callback_info info);

#endif
