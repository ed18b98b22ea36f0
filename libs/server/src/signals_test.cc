#include "threadline/server/signals.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

namespace threadline::server {
namespace {

// Signals are sent to this thread only (pthread_kill), so the test does not
// depend on which other threads the binary runs.
TEST(SignalsTest, WaitReturnsTheBlockedSignal) {
  BlockTerminationSignals();
  EXPECT_FALSE(WaitForTermination(std::chrono::milliseconds(1)).has_value());

  ASSERT_EQ(pthread_kill(pthread_self(), SIGHUP), 0);
  EXPECT_EQ(WaitForTermination(), SIGHUP);

  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(WaitForTermination(std::chrono::seconds(10)), SIGTERM);

  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(WaitForTermination(), SIGINT);
}

TEST(SignalsTest, Names) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGHUP), "SIGHUP");
  EXPECT_EQ(SignalName(SIGUSR1), "signal " + std::to_string(SIGUSR1));
}

}  // namespace
}  // namespace threadline::server
