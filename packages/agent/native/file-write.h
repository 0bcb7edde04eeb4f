/* Filling a file just created, shared by writeNewFile (reaper.c) and the staged writer (staged-files.c): see file-write.c. */
#ifndef SKIFF_FILE_WRITE_H
#define SKIFF_FILE_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* Steps a failure names (reaper.c io_result, native-fs/file-io.ts STEPS). */
#define STEP_OPEN 1
#define STEP_WRITE 2
#define STEP_CHMOD 3
#define STEP_UTIMES 4
#define STEP_CLOSE 5
#define STEP_READ 6

/*
 * Writes all of `data` to `fd`, fchmods it to `mode` when `chmod`, sets its
 * atime and mtime to `seconds`, closes it. Returns 0, or the errno of the
 * step that failed (in *step); the descriptor is closed either way, and
 * removing the file is the caller's.
 */
int fill_new_file(int fd, const void *data, size_t length, uint32_t mode, int chmod, double seconds, int *step);

#endif
