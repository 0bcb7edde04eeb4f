/*
 * skiff-launch: the leader of an app's process group, tied to the agent that
 * started it.
 *
 *   skiff-launch PROGRAM [ARG...]     runs PROGRAM in the launcher's group
 *   skiff-launch --version            prints "skiff-launch <n>" (a probe)
 *
 * The agent spawns it as a new session (so its pid is the group id) with a
 * socket at fd 3: the link. The link is the whole contract:
 *
 * - The agent never writes to it and never closes it while the app should
 *   run. The kernel closes the agent's end when the agent dies, however it
 *   dies (SIGKILL included): the launcher then reads end-of-file and
 *   SIGKILLs its own process group, so no process of the app outlives the
 *   agent and holds its port. This is the only job that needs a process of
 *   our own: nothing in Node can run after a SIGKILL.
 * - The launcher writes lines to the link: "pid <n>\n" once PROGRAM's
 *   process exists (the pid the agent reports as the app's; PROGRAM is held
 *   back until it is written, so the agent learns it before any of the
 *   app's output), then, when
 *   PROGRAM ends, exactly how it ended: "exit <code>\n" or
 *   "signal <number>\n". It does not exit then:
 *   it stays in the group, so the tie holds while the rest of the group
 *   (what PROGRAM started, an app still cleaning up after SIGTERM) is alive.
 *   The agent ends it with the group (SIGKILL to the group) once it is done
 *   with the group.
 *
 * Signals: the agent signals the whole group, so every member gets them
 * directly and the launcher forwards nothing. The launcher catches every
 * catchable signal with a handler that does nothing, so a SIGTERM meant for
 * the app does not end the tie; caught handlers are reset to the default by
 * execve, so PROGRAM starts with default dispositions. (SIG_IGN would be
 * inherited: that is why these are handlers, not SIG_IGN.) Fault signals
 * keep their default action: a handler that returns from a real fault would
 * loop.
 *
 * Without fd 3 (run by hand, or the probe) there is no tie: the launcher
 * waits for PROGRAM and ends the same way it did (its exit code, or the
 * same signal).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINK_FD 3
/* Bumped when the link contract above changes; the agent checks it. */
#define LAUNCH_VERSION "skiff-launch 1"
/* Exit codes of a PROGRAM that could not be started, as a shell reports them. */
#define EXIT_NOT_FOUND 127
#define EXIT_CANNOT_RUN 126

static void on_signal(int sig) { (void)sig; }

static int is_fault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

static int is_caught(int sig) { return sig != SIGKILL && sig != SIGSTOP && !is_fault(sig); }

/* Installs `handler` for every signal the launcher catches. Errors (the C
 * library's reserved real-time signals) are expected and ignored. */
static void set_handlers(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (is_caught(sig)) sigaction(sig, &sa, NULL);
  }
}

/* The agent is gone: the whole group goes, the launcher included. */
static void agent_gone(void) {
  kill(0, SIGKILL);
  _exit(EXIT_CANNOT_RUN); /* not reached */
}

static void send_line(int link, const char *line, int len) {
  for (;;) {
    ssize_t n = write(link, line, (size_t)len);
    if (n == len) return;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pfd = {.fd = link, .events = POLLOUT};
      poll(&pfd, 1, -1);
      continue;
    }
    /* EPIPE or a short write to a socket nobody reads: the agent is gone. */
    agent_gone();
  }
}

static void report_pid(int link, pid_t pid) {
  char line[32];
  int len = snprintf(line, sizeof line, "pid %ld\n", (long)pid);
  send_line(link, line, len);
}

static void report_end(int link, int status) {
  char line[32];
  int len;
  if (WIFEXITED(status)) len = snprintf(line, sizeof line, "exit %d\n", WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) len = snprintf(line, sizeof line, "signal %d\n", WTERMSIG(status));
  else return;
  send_line(link, line, len);
}

/* Ends the launcher as PROGRAM ended (no link: nobody reads a report). */
static void end_like(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    raise(sig);
    _exit(128 + sig);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_CANNOT_RUN);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    puts(LAUNCH_VERSION);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: skiff-launch PROGRAM [ARG...]  (fd 3: the link to the agent)\n");
    return 2;
  }

  int link = fcntl(LINK_FD, F_GETFD) == -1 ? -1 : LINK_FD;
  /* PROGRAM must not hold the link: only the agent's death may end it. */
  if (link >= 0) fcntl(link, F_SETFD, FD_CLOEXEC);
  /* kill(0) must hit the app's group, never the group of whoever ran us. */
  if (getpgrp() != getpid() && setpgid(0, 0) != 0) {
    fprintf(stderr, "skiff-launch: cannot lead a process group: %s\n", strerror(errno));
    return EXIT_CANNOT_RUN;
  }

  /* Everything stays blocked except inside ppoll below, so no SIGCHLD or
   * end-of-file can slip between a check and the wait. */
  sigset_t all, inherited;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &inherited);
  set_handlers(on_signal);

  /* The child waits on this pipe until its pid is on the link. */
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) {
    fprintf(stderr, "skiff-launch: pipe: %s\n", strerror(errno));
    return EXIT_CANNOT_RUN;
  }
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "skiff-launch: fork: %s\n", strerror(errno));
    return EXIT_CANNOT_RUN;
  }
  if (child == 0) {
    close(gate[1]);
    char byte;
    while (read(gate[0], &byte, 1) < 0 && errno == EINTR) continue;
    close(gate[0]);
    /* Defaults first, then unblock: a signal that arrived meanwhile acts as
     * it would on PROGRAM instead of vanishing in a handler. */
    set_handlers(SIG_DFL);
    sigprocmask(SIG_SETMASK, &inherited, NULL);
    execvp(argv[1], argv + 1);
    int err = errno;
    fprintf(stderr, "skiff-launch: cannot run %s: %s\n", argv[1], strerror(err));
    _exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
  }

  close(gate[0]);
  if (link >= 0) report_pid(link, child);
  close(gate[1]); /* end-of-file: the child goes on to exec */

  /* The app's output pipes must close when the app's processes close them,
   * not when the launcher ends: the launcher's copies go. */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    close(devnull);
  }

  sigset_t none;
  sigemptyset(&none);
  int child_done = 0;
  for (;;) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child || child_done) continue;
      child_done = 1;
      if (link < 0) end_like(status);
      report_end(link, status);
    }
    struct pollfd pfd = {.fd = link, .events = POLLIN};
    int ready = ppoll(&pfd, link >= 0 ? 1 : 0, NULL, &none);
    if (ready < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "skiff-launch: ppoll: %s\n", strerror(errno));
      agent_gone();
    }
    if (ready > 0 && pfd.revents != 0) {
      char buf[64];
      ssize_t n = read(link, buf, sizeof buf);
      /* The agent never writes: anything but "no data yet" means it is gone. */
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) agent_gone();
    }
  }
}
