// Preloaded into dnsd by e2e/test_kube.py: epoll_pwait2() fails with ENOSYS, as it does on
// kernels before Linux 5.11 (and under seccomp profiles that do not know it), so the API
// client's fallback to epoll_wait() runs. Says so on stderr once, so the test knows the
// preload took.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int epoll_pwait2(int epfd, struct epoll_event* events, int maxevents,
                 const struct timespec* timeout, const sigset_t* sigmask) {
  (void)epfd, (void)events, (void)maxevents, (void)timeout, (void)sigmask;
  static int said;
  if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED)) {
    static const char kSaid[] = "no_epoll_pwait2: epoll_pwait2 fails with ENOSYS\n";
    (void)!write(2, kSaid, sizeof kSaid - 1);
  }
  errno = ENOSYS;
  return -1;
}
