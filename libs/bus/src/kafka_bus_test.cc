// The Kafka adapter against librdkafka's in-process mock cluster: fast,
// no JVM. tests/kafka_bus_kafkatest.cc runs the same conformance suite
// against a real broker.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus_conformance.h"
#include "threadline/bus/kafka.h"
#include "threadline/common/log.h"
#include "threadline/testing/testing.h"

namespace threadline::bus {
namespace {

using namespace std::chrono_literals;
using testing::BusConformanceParam;
using testing::BusConformanceTest;

// Three mock brokers, so partitions have different leaders. Shared by every
// test of this binary and deliberately never destroyed (its threads would
// race static destruction at exit).
class MockCluster {
 public:
  static MockCluster& Get() {
    static MockCluster* cluster = new MockCluster();
    return *cluster;
  }

  rd_kafka_mock_cluster_t* cluster() const { return mcluster_; }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mcluster_); }

  KafkaOptions Options() const {
    KafkaOptions options;
    options.brokers = bootstraps();
    options.client_id = "mock-test";
    options.request_timeout = 5s;
    // e.g. THREADLINE_KAFKA_DEBUG=eos,protocol to see librdkafka's view.
    if (const char* debug = std::getenv("THREADLINE_KAFKA_DEBUG")) {
      options.extra["debug"] = debug;
      ConfigureLogging({.level = LogLevel::kDebug});
    }
    return options;
  }

 private:
  MockCluster() {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk_ == nullptr) std::abort();
    mcluster_ = rd_kafka_mock_cluster_new(rk_, 3);
    if (mcluster_ == nullptr) std::abort();
  }

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
};

// librdkafka 2.0.2's mock cluster has no controller, so it cannot serve
// CreateTopics: topics are created with the mock's own API instead, and the
// rest goes to the real adapter. The adapter's EnsureTopics is covered by the
// same suite against a real broker (tests/kafka_bus_kafkatest.cc).
class MockTopicsBus final : public Bus {
 public:
  explicit MockTopicsBus(std::unique_ptr<Bus> kafka) : kafka_(std::move(kafka)) {}

  absl::Status EnsureTopics(const std::vector<TopicSpec>& topics) override {
    for (const TopicSpec& t : topics) {
      if (t.name.empty() || t.partitions <= 0) {
        return absl::InvalidArgumentError("bad topic spec '" + t.name + "'");
      }
      rd_kafka_resp_err_t err =
          rd_kafka_mock_topic_create(MockCluster::Get().cluster(), t.name.c_str(), t.partitions, 1);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        return absl::InternalError(std::string("mock topic create: ") + rd_kafka_err2str(err));
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<int32_t> PartitionCount(const std::string& topic) override {
    return kafka_->PartitionCount(topic);
  }
  absl::StatusOr<std::unique_ptr<Publisher>> NewPublisher() override {
    return kafka_->NewPublisher();
  }
  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer() override { return kafka_->NewConsumer(); }
  absl::StatusOr<std::vector<int64_t>> EndOffsets(const std::string& topic) override {
    return kafka_->EndOffsets(topic);
  }

 private:
  std::unique_ptr<Bus> kafka_;
};

std::unique_ptr<Bus> OpenMockBus() {
  auto bus = OpenKafkaBus(MockCluster::Get().Options());
  if (!bus.ok()) {
    ADD_FAILURE() << bus.status();
    return nullptr;
  }
  return std::make_unique<MockTopicsBus>(std::move(*bus));
}

INSTANTIATE_TEST_SUITE_P(KafkaMock, BusConformanceTest,
                         ::testing::Values(BusConformanceParam{
                             .name = "kafka_mock",
                             .factory = &OpenMockBus,
                             .topic_prefix = testing::UniqueTopicPrefix("mock"),
                             // The 2.0.2 mock ignores allow.auto.create.topics.
                             .creates_missing_topics = true}),
                         BusConformanceParam::Name);

TEST(KafkaBusTest, RejectsMissingAndInvalidSettings) {
  KafkaOptions options;
  auto bus = OpenKafkaBus(options);
  EXPECT_TRUE(absl::IsInvalidArgument(bus.status())) << bus.status();
  EXPECT_NE(bus.status().message().find("brokers"), std::string::npos) << bus.status();

  options.brokers = "127.0.0.1:9";
  options.extra["no.such.setting"] = "1";
  bus = OpenKafkaBus(options);
  EXPECT_TRUE(absl::IsInvalidArgument(bus.status())) << bus.status();
  EXPECT_NE(bus.status().message().find("no.such.setting"), std::string::npos) << bus.status();
}

TEST(KafkaBusTest, ExtraSettingsOverrideOursAndConflictsAreReported) {
  KafkaOptions options = MockCluster::Get().Options();
  // Idempotence needs acks=all: the override reaches librdkafka, which refuses.
  options.extra["acks"] = "1";
  auto bus = OpenKafkaBus(options);
  ASSERT_OK(bus);
  auto publisher = (*bus)->NewPublisher();
  EXPECT_TRUE(absl::IsInvalidArgument(publisher.status())) << publisher.status();
}

TEST(KafkaBusTest, UnreachableClusterIsUnavailable) {
  KafkaOptions options;
  options.brokers = "127.0.0.1:" + std::to_string(threadline::testing::FreePort());
  options.request_timeout = 500ms;
  auto bus = OpenKafkaBus(options);
  ASSERT_OK(bus);  // connects lazily
  auto count = (*bus)->PartitionCount("threadline.sales.v1");
  EXPECT_TRUE(absl::IsUnavailable(count.status())) << count.status();
  auto ends = (*bus)->EndOffsets("threadline.sales.v1");
  EXPECT_TRUE(absl::IsUnavailable(ends.status())) << ends.status();
  auto ensure = (*bus)->EnsureTopics({{"threadline.sales.v1", 6}});
  EXPECT_TRUE(absl::IsUnavailable(ensure)) << ensure;
}

TEST(KafkaBusTest, MessagesPublishedWhileClusterIsDownAreDeliveredAfterwards) {
  auto bus = OpenMockBus();
  ASSERT_NE(bus, nullptr);
  const std::string topic = testing::UniqueTopicPrefix("mock-down");
  ASSERT_OK(bus->EnsureTopics({{topic, 2}}));
  auto publisher = bus->NewPublisher();
  ASSERT_OK(publisher);
  // Warm up the producer's connections and producer id first.
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  auto count = [&](const absl::Status& s, int32_t, int64_t) { (s.ok() ? ok : failed)++; };
  ASSERT_OK((*publisher)->Publish({topic, "a", "before", {}}, count));
  ASSERT_OK((*publisher)->Flush(10s));
  ASSERT_EQ(ok.load(), 1);

  rd_kafka_mock_cluster_t* mc = MockCluster::Get().cluster();
  for (int32_t id = 1; id <= 3; ++id) ASSERT_EQ(rd_kafka_mock_broker_set_down(mc, id), 0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK((*publisher)->Publish({topic, "k" + std::to_string(i), "during", {}}, count));
  }
  // Nothing can be acknowledged while every broker is down.
  EXPECT_TRUE(absl::IsDeadlineExceeded((*publisher)->Flush(300ms)));
  EXPECT_EQ(ok.load(), 1);
  for (int32_t id = 1; id <= 3; ++id) ASSERT_EQ(rd_kafka_mock_broker_set_up(mc, id), 0);
  ASSERT_OK((*publisher)->Flush(30s));
  EXPECT_EQ(ok.load(), 21);
  EXPECT_EQ(failed.load(), 0);

  auto ends = bus->EndOffsets(topic);
  ASSERT_OK(ends);
  EXPECT_EQ((*ends)[0] + (*ends)[1], 21) << "lost or duplicated messages across the outage";
}

TEST(KafkaBusTest, ClosingAPublisherRunsEveryCallback) {
  auto bus = OpenMockBus();
  ASSERT_NE(bus, nullptr);
  const std::string topic = testing::UniqueTopicPrefix("mock-close");
  ASSERT_OK(bus->EnsureTopics({{topic, 3}}));
  std::atomic<int> calls{0};
  {
    auto publisher = bus->NewPublisher();
    ASSERT_OK(publisher);
    for (int i = 0; i < 100; ++i) {
      ASSERT_OK((*publisher)
                    ->Publish({topic, std::to_string(i), "v", {}},
                              [&](const absl::Status&, int32_t, int64_t) { ++calls; }));
    }
  }  // destroyed without Flush
  EXPECT_EQ(calls.load(), 100);
}

TEST(KafkaBusTest, ClosingAPublisherWhileTheClusterIsDownFailsItsMessages) {
  KafkaOptions options = MockCluster::Get().Options();
  options.close_timeout = 300ms;
  auto kafka = OpenKafkaBus(options);
  ASSERT_OK(kafka);
  MockTopicsBus bus(std::move(*kafka));
  const std::string topic = testing::UniqueTopicPrefix("mock-purge");
  ASSERT_OK(bus.EnsureTopics({{topic, 2}}));
  rd_kafka_mock_cluster_t* mc = MockCluster::Get().cluster();
  std::mutex mu;
  std::vector<absl::Status> results;
  {
    auto publisher = bus.NewPublisher();
    ASSERT_OK(publisher);
    // Learn the topic's metadata while the cluster is still up.
    ASSERT_OK((*publisher)->Publish({topic, "warm", "v", {}}, nullptr));
    ASSERT_OK((*publisher)->Flush(10s));
    for (int32_t id = 1; id <= 3; ++id) ASSERT_EQ(rd_kafka_mock_broker_set_down(mc, id), 0);
    for (int i = 0; i < 10; ++i) {
      ASSERT_OK((*publisher)
                    ->Publish({topic, std::to_string(i), "v", {}},
                              [&](const absl::Status& s, int32_t, int64_t) {
                                std::lock_guard<std::mutex> lock(mu);
                                results.push_back(s);
                              }));
    }
  }  // close_timeout passes, the rest is purged
  for (int32_t id = 1; id <= 3; ++id) ASSERT_EQ(rd_kafka_mock_broker_set_up(mc, id), 0);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(results.size(), 10u);
  for (const auto& s : results) EXPECT_TRUE(absl::IsUnavailable(s)) << s;
}

TEST(KafkaBusTest, OffsetBeyondTheEndReplaysFromTheStart) {
  // Documented behaviour (auto.offset.reset=earliest): a stored offset the
  // log does not have (topic recreated, retention) restarts the partition at
  // its first message; consumers de-duplicate by event_id.
  auto bus = OpenMockBus();
  ASSERT_NE(bus, nullptr);
  const std::string topic = testing::UniqueTopicPrefix("mock-reset");
  ASSERT_OK(bus->EnsureTopics({{topic, 1}}));
  auto publisher = bus->NewPublisher();
  ASSERT_OK(publisher);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK((*publisher)->Publish({topic, "k", std::to_string(i), {}}, nullptr));
  }
  ASSERT_OK((*publisher)->Flush(10s));
  auto consumer = bus->NewConsumer();
  ASSERT_OK(consumer);
  ASSERT_OK((*consumer)->Assign({{{topic, 0}, 1000}}));
  std::vector<Message> got;
  ASSERT_TRUE(threadline::testing::WaitFor(
      [&] {
        auto batch = (*consumer)->Poll(10, 100ms);
        if (batch.ok()) got.insert(got.end(), batch->begin(), batch->end());
        return got.size() >= 3;
      },
      20s));
  EXPECT_EQ(got[0].offset, 0);
  EXPECT_EQ(got[0].value, "0");
}

}  // namespace
}  // namespace threadline::bus
