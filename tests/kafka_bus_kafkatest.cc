// The Kafka bus against a real Apache Kafka broker (the `kafka` CTest
// fixture starts one with scripts/kafka): the shared conformance suite, plus
// a check against Kafka's own Java producer that our partitioner and theirs
// agree.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bus_conformance.h"
#include "threadline/bus/kafka.h"
#include "threadline/testing/testing.h"

namespace threadline::bus {
namespace {

using namespace std::chrono_literals;
using testing::BusConformanceParam;
using testing::BusConformanceTest;

KafkaOptions RealBrokerOptions() {
  KafkaOptions options;
  options.brokers = threadline::testing::KafkaBootstrapForTests();
  options.client_id = "kafkatest";
  return options;
}

std::unique_ptr<Bus> OpenRealBus() {
  KafkaOptions options = RealBrokerOptions();
  if (options.brokers.empty()) {
    ADD_FAILURE() << "no broker: set THREADLINE_KAFKA_BOOTSTRAP or run through ctest -L kafka";
    return nullptr;
  }
  auto bus = OpenKafkaBus(options);
  if (!bus.ok()) {
    ADD_FAILURE() << bus.status();
    return nullptr;
  }
  return std::move(*bus);
}

INSTANTIATE_TEST_SUITE_P(KafkaBroker, BusConformanceTest,
                         ::testing::Values(BusConformanceParam{"kafka_broker", &OpenRealBus,
                                                               testing::UniqueTopicPrefix("conf")}),
                         BusConformanceParam::Name);

// A topic made with settings has them on the broker; one made without has
// the broker's defaults (7 days of retention), which is why the suite's
// record topics are made with retention.ms=-1.
TEST(KafkaTopicConfigsTest, ATopicGetsItsSettingsAndTheRestAreTheBrokersDefaults) {
  auto bus = OpenRealBus();
  ASSERT_NE(bus, nullptr);
  const std::string kept = testing::UniqueTopicPrefix("kept");
  const std::string plain = testing::UniqueTopicPrefix("plain");
  ASSERT_OK(bus->EnsureTopics(
      {{kept, 3, {{"retention.ms", "-1"}, {"retention.bytes", "-1"}}}, {plain, 3, {}}}));
  auto configs = bus->TopicConfigs(kept);
  ASSERT_OK(configs);
  EXPECT_EQ(configs->at("retention.ms"), "-1");
  EXPECT_EQ(configs->at("retention.bytes"), "-1");
  auto defaults = bus->TopicConfigs(plain);
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->at("retention.ms"), "604800000");
  // A setting the broker does not know refuses the topic, naming it.
  auto bad =
      bus->EnsureTopics({{testing::UniqueTopicPrefix("bad"), 3, {{"retention.ms", "soon"}}}});
  EXPECT_FALSE(bad.ok());
  EXPECT_OK(CheckSamePartitions(*bus, {kept, plain}));
}

// Messages keyed by Kafka's Java producer (default partitioner) land where
// PartitionForKey says, so Java services and tools and ours agree on where
// a customer lives.
TEST(KafkaJavaInteropTest, JavaProducerPartitionsLikePartitionForKey) {
  const char* script = std::getenv("THREADLINE_KAFKA_SCRIPT");
  if (script == nullptr) GTEST_FAIL() << "THREADLINE_KAFKA_SCRIPT unset (run through ctest)";
  auto bus = OpenRealBus();
  ASSERT_NE(bus, nullptr);
  constexpr int32_t kPartitions = 6;
  const std::string topic = testing::UniqueTopicPrefix("java-interop");
  ASSERT_OK(bus->EnsureTopics({{topic, kPartitions}}));

  std::vector<std::string> keys;
  for (int i = 0; i < 60; ++i) keys.push_back("customer-" + std::to_string(i * 7919));
  std::string input;
  for (const auto& k : keys) input += k + "\t" + "value-of-" + k + "\n";
  const std::string command = std::string("'") + script +
                              "' tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server " +
                              RealBrokerOptions().brokers + " --topic " + topic +
                              " --property parse.key=true --property 'key.separator=\t'";
  FILE* producer = ::popen(command.c_str(), "w");
  ASSERT_NE(producer, nullptr);
  ASSERT_EQ(std::fwrite(input.data(), 1, input.size(), producer), input.size());
  ASSERT_EQ(::pclose(producer), 0) << command;

  auto consumer = bus->NewConsumer();
  ASSERT_OK(consumer);
  std::vector<PartitionStart> starts;
  for (int32_t p = 0; p < kPartitions; ++p) starts.push_back({{topic, p}, 0});
  ASSERT_OK((*consumer)->Assign(starts));
  std::map<std::string, int32_t> partition_of;
  ASSERT_TRUE(threadline::testing::WaitFor(
      [&] {
        auto batch = (*consumer)->Poll(100, 200ms);
        if (batch.ok()) {
          for (const Message& m : *batch) partition_of[m.key] = m.partition;
        }
        return partition_of.size() >= keys.size();
      },
      30s))
      << "got " << partition_of.size() << " of " << keys.size();
  for (const auto& k : keys) {
    EXPECT_EQ(partition_of[k], PartitionForKey(k, kPartitions)) << k;
  }
}

}  // namespace
}  // namespace threadline::bus
