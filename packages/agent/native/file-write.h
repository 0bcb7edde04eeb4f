/* The steps of writing a new file and of reading one whole, shared by the addon's calls (reaper.c, staged-files.c, pack-file.c). */
#ifndef SKIFF_FILE_WRITE_H
#define SKIFF_FILE_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* Steps a failure names (IO_FAILED below; native-fs/file-io.ts STEPS names them in JavaScript). */
#define STEP_OPEN 1
#define STEP_WRITE 2
#define STEP_CHMOD 3
#define STEP_UTIMES 4
#define STEP_CLOSE 5
#define STEP_READ 6
/* A failure as one number: -(errno * 8 + step), so the caller can name both. */
#define IO_FAILED(err, step) (-((double)(err) * 8 + (step)))

/*
 * Writes all of `data` to `fd`, fchmods it to `mode` when `chmod`, sets its
 * atime and mtime to `seconds`, closes it. Returns 0, or the errno of the
 * step that failed (in *step); the descriptor is closed either way, and
 * removing the file is the caller's.
 */
int fill_new_file(int fd, const void *data, size_t length, uint32_t mode, int chmod, double seconds, int *step);

/*
 * Reads `fd` into `buf` until its end or `room` bytes; sets *got. A read
 * that comes back short with *got equal to `known_end` (the size a scan saw)
 * is taken as the end: a regular file gives less than asked only there, and
 * no read more is made to be told so. Returns 0 or the read's errno. Does
 * not close `fd`.
 */
int read_whole(int fd, unsigned char *buf, size_t room, size_t known_end, size_t *got);

#endif
