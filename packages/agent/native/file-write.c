/* See file-write.h. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file-write.h"

/* Seconds as a double to a timespec exactly as libuv converts them for
 * futimes (uv__fs_to_timespec: truncated to microseconds), so a file written
 * here has the mtime the same call through Node would have given it. */
static struct timespec to_timespec(double time) {
  struct timespec ts;
  ts.tv_sec = (time_t)time;
  ts.tv_nsec = (long)((time - ts.tv_sec) * 1e9);
  ts.tv_nsec -= ts.tv_nsec % 1000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

int fill_new_file(int fd, const void *data, size_t length, uint32_t mode, int chmod, double seconds, int *step) {
  int err = 0;
  const char *p = data;
  size_t left = length;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      *step = STEP_WRITE;
      break;
    }
    p += n;
    left -= (size_t)n;
  }
  if (err == 0 && chmod && fchmod(fd, (mode_t)mode) != 0) {
    err = errno;
    *step = STEP_CHMOD;
  }
  if (err == 0) {
    struct timespec times[2];
    times[0] = times[1] = to_timespec(seconds);
    if (futimens(fd, times) != 0) {
      err = errno;
      *step = STEP_UTIMES;
    }
  }
  if (close(fd) != 0 && err == 0 && errno != EINTR) {
    err = errno;
    *step = STEP_CLOSE;
  }
  return err;
}

int read_whole(int fd, unsigned char *buf, size_t room, size_t known_end, size_t *got) {
  size_t n = 0;
  while (n < room) {
    ssize_t r = read(fd, buf + n, room - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      *got = n;
      return errno;
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n == known_end && n < room) break;
  }
  *got = n;
  return 0;
}
