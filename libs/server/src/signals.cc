#include "threadline/server/signals.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace threadline::server {
namespace {

sigset_t TerminationSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTermination() {
  sigset_t set = TerminationSet();
  int sig = 0;
  // sigwait only fails for an invalid set; loop rather than return garbage.
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

std::optional<int> WaitForTermination(std::chrono::milliseconds timeout) {
  sigset_t set = TerminationSet();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  while (true) {
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    // EINTR: another signal's handler ran; the remaining time is not known,
    // so wait the full timeout again (callers use it as a bound, not a clock).
    if (errno != EINTR) return std::nullopt;
  }
}

std::string SignalName(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal " + std::to_string(sig);
  }
}

}  // namespace threadline::server
