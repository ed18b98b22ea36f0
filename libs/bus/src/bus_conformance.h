#pragma once

// The behaviour every Bus implementation must share, as a value-parameterised
// gtest suite. An implementation's test instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(
//       Embedded, BusConformanceTest,
//       ::testing::Values(BusConformanceParam{
//           "embedded", [&] { return OpenMyBus(); }, UniqueTopicPrefix("conf")}),
//       BusConformanceParam::Name);
//
// The suite only uses the Bus interface; it creates its own topics (named
// from the prefix, the test and a counter) so that instantiations can share a
// cluster, and waits on conditions with deadlines, never fixed sleeps.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "threadline/bus/bus.h"

namespace threadline::bus::testing {

struct BusConformanceParam {
  // Shows in test names: BusConformanceTest.PerKeyOrder/<name>.
  std::string name;
  // A new Bus per test (a fresh connection to the same data is fine). Return
  // nullptr on failure after reporting it with ADD_FAILURE().
  std::function<std::unique_ptr<Bus>()> factory;
  // Prefix of every topic the suite creates; unique per run when the
  // implementation keeps data across runs (a real Kafka cluster).
  std::string topic_prefix;
  // The backend creates a topic when a client first asks about it (e.g.
  // librdkafka's mock cluster, whatever the client asks for): the checks
  // that unknown topics are NOT_FOUND are skipped. Default: false.
  bool creates_missing_topics = false;

  static std::string Name(const ::testing::TestParamInfo<BusConformanceParam>& info) {
    return info.param.name;
  }
  // Readable failure messages ("where GetParam() = kafka_mock").
  friend void PrintTo(const BusConformanceParam& param, std::ostream* os) { *os << param.name; }
};

// "base-<pid>-<time>": a topic prefix no earlier run used.
std::string UniqueTopicPrefix(std::string_view base);

class BusConformanceTest : public ::testing::TestWithParam<BusConformanceParam> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A topic name unique to this test; `tag` tells topics of one test apart.
  std::string Topic(std::string_view tag) const;
  // Creates Topic(tag) with `partitions` partitions into *name; use it as
  // ASSERT_NO_FATAL_FAILURE(MakeTopic("orders", 4, &topic)).
  void MakeTopic(std::string_view tag, int32_t partitions, std::string* name);

  std::unique_ptr<Bus> bus_;
};

}  // namespace threadline::bus::testing
