/* The pod sandbox's process: holds the pod's namespaces open and does nothing else. It is PID 1 of the
 * sandbox, so it reaps orphans re-parented to it and exits on SIGINT/SIGTERM like the upstream pause.
 * Built static (lib/pause-image.sh) because the image holds this one file. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction term = {.sa_handler = stop};
  struct sigaction chld = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGINT, &term, NULL);
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGCHLD, &chld, NULL);
  if (getpid() != 1) {
    /* Like the upstream pause: harmless outside a sandbox, but says so. */
    static const char msg[] = "pause: not running as PID 1\n";
    (void)!write(2, msg, sizeof msg - 1);
  }
  for (;;) pause();
  return 0;
}
