/*
 * reaper: the system calls the agent needs to act as an init process, and
 * the daemon needs to know who connected to its control socket, that Node
 * does not expose.
 *
 *   reap(pid)            waitpid(pid, &status, WNOHANG) for ONE given pid.
 *   setChildSubreaper()  prctl(PR_SET_CHILD_SUBREAPER, 1).
 *   isChildSubreaper()   prctl(PR_GET_CHILD_SUBREAPER).
 *   peerCred(fd)         getsockopt(fd, SOL_SOCKET, SO_PEERCRED): the pid, uid
 *                        and gid of the process at the other end of a Unix
 *                        socket, as the kernel recorded them at connect().
 *   lstatDir(path), lstatDirs(paths)
 *                        directory listings with every entry's lstat, one at
 *                        a time or several on a thread: see list-dir.c.
 *   verifySaved(root, paths, numbers, held)
 *                        the agent's start-up walk of its root against its
 *                        saved manifest: see verify-saved.c.
 *   writeNewFile(path, data, mode, chmod, mtime)
 *                        open(O_CREAT|O_EXCL|O_NOFOLLOW) + write + fchmod +
 *                        futimens + close of a new file, in one call: the
 *                        agent's first sync writes 50,000 files, four calls
 *                        into Node's fs each.
 *   readFileInto(path, buffer)
 *                        open + read until EOF or the buffer is full + close:
 *                        the daemon reads as many small files to send them.
 *   scanFrames(message, records), writeStagedFiles(...)
 *                        a message's whole small files parsed and written
 *                        into a first sync's stage: see staged-files.c.
 *   packFile(...)        a small file read straight into the message the
 *                        daemon packs, as a FILE frame: see pack-file.c.
 *
 * Why only one pid at a time: libuv waits for the children Node spawned with
 * waitpid(their pid). If anyone else collects such a child first, libuv gets
 * ECHILD and the ChildProcess never emits 'exit'. So this module refuses
 * pid <= 0 (waitpid(-1) or a process-group wait would take whichever child is
 * ready, Node's own included); the caller decides which pids are orphans (see
 * src/init/reaper.ts and README.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <node_api.h>

#include "file-write.h"
#include "list-dir.h"
#include "napi-args.h"

#define CHECK(env, call)                                                       \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error((env), "SKIFF_E_INTERNAL", "reaper: " #call " failed"); \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, "SKIFF_E_IO", message);
  return NULL;
}

static napi_value int_or_null(napi_env env, int present, int value) {
  napi_value out;
  if (present) {
    if (napi_create_int32(env, value, &out) != napi_ok) return NULL;
  } else {
    if (napi_get_null(env, &out) != napi_ok) return NULL;
  }
  return out;
}

/* reap(pid: number): { pid, status, exitCode, signal } | null
 * null: the child has not exited yet, or it is not (or no longer) our child. */
static napi_value reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", "reap(pid): pid is required");
    return NULL;
  }
  int32_t pid = 0;
  if (napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_range_error(env, "SKIFF_E_INTERNAL", "reap(pid): pid must be a positive integer");
    return NULL;
  }

  int status = 0;
  pid_t got;
  do {
    got = waitpid((pid_t)pid, &status, WNOHANG);
  } while (got == -1 && errno == EINTR);

  napi_value result;
  if (got == 0 || (got == -1 && errno == ECHILD)) {
    CHECK(env, napi_get_null(env, &result));
    return result;
  }
  if (got == -1) {
    char what[64];
    snprintf(what, sizeof what, "waitpid(%d)", pid);
    return throw_errno(env, what, errno);
  }

  napi_value v;
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_int32(env, got, &v));
  CHECK(env, napi_set_named_property(env, result, "pid", v));
  CHECK(env, napi_create_int32(env, status, &v));
  CHECK(env, napi_set_named_property(env, result, "status", v));
  v = int_or_null(env, WIFEXITED(status), WIFEXITED(status) ? WEXITSTATUS(status) : 0);
  if (v == NULL) return NULL;
  CHECK(env, napi_set_named_property(env, result, "exitCode", v));
  v = int_or_null(env, WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (v == NULL) return NULL;
  CHECK(env, napi_set_named_property(env, result, "signal", v));
  return result;
}

/* setChildSubreaper(): true. Orphans of our descendants are reparented to us
 * instead of to the namespace's PID 1. */
static napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
    return throw_errno(env, "prctl(PR_SET_CHILD_SUBREAPER)", errno);
  napi_value out;
  CHECK(env, napi_get_boolean(env, 1, &out));
  return out;
}

/* isChildSubreaper(): boolean */
static napi_value is_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  int value = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&value, 0, 0, 0) == -1)
    return throw_errno(env, "prctl(PR_GET_CHILD_SUBREAPER)", errno);
  napi_value out;
  CHECK(env, napi_get_boolean(env, value != 0, &out));
  return out;
}

/* peerCred(fd: number): { pid, uid, gid }
 * The credentials the kernel captured when the peer connected: they cannot be
 * forged by the peer, and they stay valid after the peer has gone. Throws for
 * a descriptor that is not a connected Unix socket. */
static napi_value peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_range_error(env, "SKIFF_E_INTERNAL", "peerCred(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
    char what[64];
    snprintf(what, sizeof what, "getsockopt(%d, SO_PEERCRED)", fd);
    return throw_errno(env, what, errno);
  }
  napi_value result, v;
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_int32(env, cred.pid, &v));
  CHECK(env, napi_set_named_property(env, result, "pid", v));
  CHECK(env, napi_create_uint32(env, cred.uid, &v));
  CHECK(env, napi_set_named_property(env, result, "uid", v));
  CHECK(env, napi_create_uint32(env, cred.gid, &v));
  CHECK(env, napi_set_named_property(env, result, "gid", v));
  return result;
}

/* See napi-args.h. */
napi_value number_value(napi_env env, double value) {
  napi_value out;
  if (napi_create_double(env, value, &out) != napi_ok) return NULL;
  return out;
}

/* See napi-args.h. */
char *string_arg(napi_env env, napi_value value, const char *usage) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  char *out = malloc(len + 1);
  if (out == NULL) {
    throw_errno(env, "malloc", ENOMEM);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, out, len + 1, &len) != napi_ok) {
    free(out);
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  return out;
}

/* writeNewFile(path: string, data: Uint8Array, mode: number, chmod: boolean, mtime: number): number
 * Creates `path` with O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and
 * `mode` (never through a symlink, never over anything), writes all of
 * `data`, fchmods it to `mode` when `chmod` (the umask cut some bit), sets
 * its atime and mtime to `mtime` (seconds) and closes it. Returns 0, or
 * -(errno * 8 + step): a failed open created nothing; after a later failure
 * the file is removed again. I/O failures never throw. */
static napi_value write_new_file(napi_env env, napi_callback_info info) {
  static const char usage[] = "writeNewFile(path, data, mode, chmod, mtime)";
  size_t argc = 5;
  napi_value argv[5];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  uint32_t mode = 0;
  bool chmod_needed = false;
  double mtime = 0;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      napi_get_value_uint32(env, argv[2], &mode) != napi_ok || napi_get_value_bool(env, argv[3], &chmod_needed) != napi_ok ||
      napi_get_value_double(env, argv[4], &mtime) != napi_ok) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  char *path = string_arg(env, argv[0], usage);
  if (path == NULL) return NULL;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)(mode & 07777));
  if (fd == -1) {
    int e = errno;
    free(path);
    return number_value(env, IO_FAILED(e, STEP_OPEN));
  }
  int step = 0;
  int err = fill_new_file(fd, data, length, mode & 07777, chmod_needed, mtime, &step);
  if (err != 0) unlink(path);
  free(path);
  return number_value(env, err == 0 ? 0 : IO_FAILED(err, step));
}

/* readFileInto(path: string, buffer: Uint8Array): number
 * Opens `path` read-only, reads until end of file or until `buffer` is full
 * and closes it. Returns the bytes read (the buffer's length: the file may
 * be longer), or -(errno * 8 + step). I/O failures never throw. */
static napi_value read_file_into(napi_env env, napi_callback_info info) {
  static const char usage[] = "readFileInto(path, buffer)";
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (argc < 2 || napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "SKIFF_E_INTERNAL", usage);
    return NULL;
  }
  char *path = string_arg(env, argv[0], usage);
  if (path == NULL) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int open_errno = errno;
  free(path);
  if (fd == -1) return number_value(env, IO_FAILED(open_errno, STEP_OPEN));
  size_t got = 0;
  int err = read_whole(fd, data, length, SIZE_MAX, &got);
  close(fd);
  return number_value(env, err == 0 ? (double)got : IO_FAILED(err, STEP_READ));
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"reap", NULL, reap, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setChildSubreaper", NULL, set_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
    {"isChildSubreaper", NULL, is_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
    {"peerCred", NULL, peer_cred, NULL, NULL, NULL, napi_enumerable, NULL},
    {"lstatDir", NULL, lstat_dir, NULL, NULL, NULL, napi_enumerable, NULL},
    {"lstatDirs", NULL, lstat_dirs, NULL, NULL, NULL, napi_enumerable, NULL},
    {"verifySaved", NULL, verify_saved, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeNewFile", NULL, write_new_file, NULL, NULL, NULL, napi_enumerable, NULL},
    {"readFileInto", NULL, read_file_into, NULL, NULL, NULL, napi_enumerable, NULL},
    {"scanFrames", NULL, scan_frames, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeStagedFiles", NULL, write_staged_files, NULL, NULL, NULL, napi_enumerable, NULL},
    {"packFile", NULL, pack_file, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
