#pragma once

// Test helpers shared by every test in the project: status assertions,
// waiting on a condition with a deadline (never a fixed sleep), and
// temporary directories that clean up after themselves.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace threadline::testing {

inline const absl::Status& AsStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// The predicate-formatter behind ASSERT_OK / EXPECT_OK.
template <typename T>
::testing::AssertionResult IsOk(const char* expr, const T& value) {
  const absl::Status& status = AsStatus(value);
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " is not OK: " << status;
}

// Polls `condition` until it is true or `timeout` passes. Returns whether it
// became true. The poll interval is short and grows; no test should depend
// on it.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago, and that no earlier
// call in this process returned.
int FreePort();

// Every regular file under `dir` (recursively) whose bytes contain
// `needle`, compared ignoring ASCII case: a search for personal data that
// must not be on disk.
std::vector<std::filesystem::path> FilesContaining(const std::filesystem::path& dir,
                                                   std::string_view needle);

}  // namespace threadline::testing

// Status assertions: `expr` (an absl::Status or absl::StatusOr) is
// evaluated once; a failure prints the expression and that status.
//   ASSERT_OK(store->Append(request));
//   auto read = store->Read(stream);
//   ASSERT_OK(read) << "reading " << stream;
#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::threadline::testing::IsOk, expr)
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::threadline::testing::IsOk, expr)

namespace threadline::testing {

// The Kafka broker for tests labelled `kafka`: the environment variable
// THREADLINE_KAFKA_BOOTSTRAP ("host:port") if set, else the first line of
// the file named by THREADLINE_KAFKA_BOOTSTRAP_FILE (tests/CMakeLists.txt
// points it at the broker that the `kafka` CTest fixture started). Empty
// when neither gives an address.
std::string KafkaBootstrapForTests();

}  // namespace threadline::testing

namespace threadline::testing {

// What /proc/PID/status says of a process's resources.
struct ProcessUsage {
  int64_t rss_kib = -1;  // VmRSS
  int threads = -1;      // Threads
};
// Of process `pid`; 0: this process. -1 fields when it cannot be read.
ProcessUsage UsageOf(int pid = 0);

}  // namespace threadline::testing
