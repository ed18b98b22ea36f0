// The Kafka bus across a broker restart (scripts/kafka stop + start): messages
// published while the broker is down are delivered once it is back, exactly
// once and in order, and a consumer resumes by itself. On a broker of its
// own, fresh, so neither the state the other tests leave on the shared
// broker nor this test's restart touches anyone else.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "faults_checks.h"
#include "threadline/bus/kafka.h"
#include "threadline/testing/testing.h"

namespace threadline::bus {
namespace {

using namespace std::chrono_literals;

TEST(KafkaRestartTest, PublishAndConsumeAcrossABrokerRestart) {
  if (std::getenv("THREADLINE_KAFKA_SCRIPT") == nullptr) {
    GTEST_FAIL() << "run through ctest -L kafka (needs THREADLINE_KAFKA_SCRIPT)";
  }
  threadline::testing::TempDir dir;
  threadline::testing::faults::PrivateBroker broker((dir.path() / "kafka").string());
  ASSERT_TRUE(broker.Start(/*fresh=*/true));
  KafkaOptions options;
  options.brokers = broker.Bootstrap();
  ASSERT_FALSE(options.brokers.empty());
  options.client_id = "restart-test";
  auto bus = OpenKafkaBus(options);
  ASSERT_OK(bus);
  constexpr int32_t kPartitions = 3;
  const std::string topic =
      "restart-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  ASSERT_OK((*bus)->EnsureTopics({{topic, kPartitions}}));
  auto publisher = (*bus)->NewPublisher();
  ASSERT_OK(publisher);
  auto consumer = (*bus)->NewConsumer();
  ASSERT_OK(consumer);
  std::vector<PartitionStart> starts;
  for (int32_t p = 0; p < kPartitions; ++p) starts.push_back({{topic, p}, 0});
  ASSERT_OK((*consumer)->Assign(starts));

  std::mutex mu;
  int delivered = 0;
  std::vector<std::string> failures;
  auto publish = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_OK((*publisher)
                    ->Publish({topic, "customer-" + std::to_string(i % 7), std::to_string(i), {}},
                              [&](const absl::Status& s, int32_t, int64_t) {
                                std::lock_guard<std::mutex> lock(mu);
                                if (s.ok()) {
                                  ++delivered;
                                } else {
                                  failures.push_back(s.ToString());
                                }
                              }));
    }
  };
  std::vector<Message> got;
  std::vector<absl::Status> poll_errors;
  auto read_until = [&](size_t n, std::chrono::milliseconds timeout) {
    return threadline::testing::WaitFor(
        [&] {
          auto batch = (*consumer)->Poll(100, 200ms);
          if (!batch.ok()) {
            poll_errors.push_back(batch.status());
            return false;
          }
          got.insert(got.end(), batch->begin(), batch->end());
          return got.size() >= n;
        },
        timeout);
  };

  ASSERT_NO_FATAL_FAILURE(publish(0, 50));
  ASSERT_OK((*publisher)->Flush(30s));
  // What the consumer saw, for a failure message.
  auto seen = [&] {
    std::string out = "got " + std::to_string(got.size()) + " messages; poll errors:";
    for (const auto& e : poll_errors) out += " [" + e.ToString() + "]";
    return out;
  };
  ASSERT_TRUE(read_until(50, 30s)) << seen();

  ASSERT_TRUE(broker.Stop());
  // While the broker is down Publish still accepts (the partition counts are
  // cached) and nothing is acknowledged.
  ASSERT_NO_FATAL_FAILURE(publish(50, 100));
  EXPECT_TRUE(absl::IsDeadlineExceeded((*publisher)->Flush(500ms)));
  auto during = (*consumer)->Poll(100, 300ms);
  EXPECT_TRUE(during.ok() ? during->empty() : absl::IsUnavailable(during.status()))
      << during.status();

  ASSERT_TRUE(broker.Start(/*fresh=*/false));
  ASSERT_OK((*publisher)->Flush(60s));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(delivered, 100);
    EXPECT_TRUE(failures.empty()) << failures.front();
  }
  ASSERT_TRUE(read_until(100, 60s)) << seen();
  for (const auto& s : poll_errors) EXPECT_TRUE(absl::IsUnavailable(s)) << s;

  // Exactly once, in order per key.
  std::set<std::string> values;
  std::map<std::string, int> last;
  for (const Message& m : got) {
    EXPECT_TRUE(values.insert(m.value).second) << "duplicate " << m.value;
    const int v = std::stoi(m.value);
    auto it = last.find(m.key);
    if (it != last.end()) {
      EXPECT_GT(v, it->second) << m.key;
    }
    last[m.key] = v;
  }
  EXPECT_EQ(values.size(), 100u);
  auto ends = (*bus)->EndOffsets(topic);
  ASSERT_OK(ends);
  EXPECT_EQ((*ends)[0] + (*ends)[1] + (*ends)[2], 100);
}

}  // namespace
}  // namespace threadline::bus
