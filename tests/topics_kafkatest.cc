// The topics the suite makes (label kafka): the record (department,
// privacy and dead-letter topics) never deletes, since `journey rebuild`
// and `store recover` read it from its start; a record topic made elsewhere
// that deletes refuses the start, saying how to fix it; and a suite whose
// department topics have different partition counts refuses to start,
// since one customer's events must share a partition number in each.

#include <gmock/gmock.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "faults_checks.h"
#include "suite_process.h"
#include "threadline/bus/embedded.h"
#include "threadline/bus/kafka.h"
#include "threadline/domain/topics.h"

namespace threadline::testing {
namespace {

TEST(TopicsKafkaTest, TheRecordTopicsKeepEveryMessageAndTheJourneyTopicKeepsTheDefault) {
  const std::string brokers = KafkaBootstrapForTests();
  ASSERT_FALSE(brokers.empty()) << "no Kafka broker; run with ctest -L kafka";
  TempDir dir;
  SuiteProcess suite((dir.path() / "data").string(),
                     {"--target", "sales,privacy", "--kafka-brokers", brokers},
                     (dir.path() / "threadline.log").string());
  bus::KafkaOptions ko;
  ko.brokers = brokers;
  ko.client_id = "topics-test";
  auto bus = bus::OpenKafkaBus(ko);
  ASSERT_OK(bus);
  std::vector<std::string> record = domain::DepartmentTopics();
  record.push_back(domain::kPrivacyTopic);
  record.push_back(domain::kDeadLetterTopic);
  for (const auto& t : record) {
    auto configs = (*bus)->TopicConfigs(t);
    ASSERT_OK(configs);
    EXPECT_EQ(configs->at("retention.ms"), "-1") << t;
    EXPECT_EQ(configs->at("retention.bytes"), "-1") << t;
  }
  auto journey = (*bus)->TopicConfigs(domain::kJourneyTopic);
  ASSERT_OK(journey);
  EXPECT_EQ(journey->at("retention.ms"), "604800000");
  // Every topic that made the record was made alike: no warning about one.
  EXPECT_THAT(suite.Log(), ::testing::Not(::testing::HasSubstr("holds the record deletes")));
}

TEST(TopicsKafkaTest, DepartmentTopicsWithDifferentPartitionCountsRefuseTheStart) {
  TempDir dir;
  const auto data = dir.path() / "data";
  {
    // Billing's topic made elsewhere, with fewer partitions.
    std::filesystem::create_directories(data);
    bus::EmbeddedBusOptions bo;
    bo.path = (data / "bus").string();
    auto bus = bus::OpenEmbeddedBus(bo);
    ASSERT_OK(bus);
    ASSERT_OK((*bus)->EnsureTopics({{domain::DepartmentTopic(v1::DEPARTMENT_BILLING), 3}}));
  }
  std::string out;
  const int status =
      RunThreadlineStatus({"serve", "--data-dir", data.string(), "--listen", "127.0.0.1:0"},
                          (dir.path() / "threadline.log").string(), std::chrono::seconds(60), &out);
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status << "\n" << out;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("threadline.sales.v1 has 6 partitions and "
                                        "threadline.billing.v1 has 3"));
}

// `threadline serve` on `brokers` to its end: its wait status, its log in
// `out`.
int ServeUntilExit(const std::filesystem::path& data, const std::string& brokers,
                   const std::filesystem::path& log, std::string* out) {
  return RunThreadlineStatus({"serve", "--target", "sales,privacy", "--data-dir", data.string(),
                              "--listen", "127.0.0.1:0", "--kafka-brokers", brokers},
                             log.string(), std::chrono::seconds(90), out);
}

// Kafka's own admin tool (kafka-configs.sh) on `brokers`: its output.
std::string KafkaConfigs(const std::string& brokers, const std::string& args,
                         const std::filesystem::path& log) {
  const std::string command = faults::Quote(std::getenv("THREADLINE_KAFKA_SCRIPT")) +
                              " tool kafka.admin.ConfigCommand --bootstrap-server " + brokers +
                              " --entity-type topics " + args + " >" + faults::Quote(log.string()) +
                              " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(log);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// On a broker of its own: the topics are made elsewhere first.
TEST(TopicsKafkaTest, RecordTopicsThatDeleteOrDisagreeRefuseTheStartWithTheFix) {
  ASSERT_NE(std::getenv("THREADLINE_KAFKA_SCRIPT"), nullptr) << "run through ctest -L kafka";
  TempDir dir;
  faults::PrivateBroker broker((dir.path() / "kafka").string());
  ASSERT_TRUE(broker.Start(/*fresh=*/true));
  const std::string brokers = broker.Bootstrap();
  bus::KafkaOptions ko;
  ko.brokers = brokers;
  ko.client_id = "topics-test";
  auto bus = bus::OpenKafkaBus(ko);
  ASSERT_OK(bus);

  // Made elsewhere: sales' topic with the broker's defaults (7 days of
  // retention), billing's with fewer partitions.
  ASSERT_OK((*bus)->EnsureTopics(
      {{domain::kSalesTopic, 6}, {domain::kBillingTopic, 3, domain::RecordTopicSettings()}}));
  // 1. The retention refuses the start, naming the fix.
  std::string out;
  int status = ServeUntilExit(dir.path() / "data", brokers, dir.path() / "first.log", &out);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("topic threadline.sales.v1 has retention.ms=604800000"));
  EXPECT_THAT(out, ::testing::HasSubstr("--add-config retention.ms=-1"));

  // 2. The fix it names, with Kafka's own tool: now the partition counts
  // refuse it.
  KafkaConfigs(brokers, "--alter --entity-name threadline.sales.v1 --add-config retention.ms=-1",
               dir.path() / "alter.log");
  status = ServeUntilExit(dir.path() / "data2", brokers, dir.path() / "second.log", &out);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  EXPECT_THAT(out, ::testing::HasSubstr(
                       "threadline.sales.v1 has 6 partitions and threadline.billing.v1 has 3"));

  // 3. What the suite made itself, read back with Kafka's own tool.
  const std::string described = KafkaConfigs(
      brokers, "--describe --all --entity-name threadline.support.v1", dir.path() / "describe.log");
  EXPECT_THAT(described, ::testing::HasSubstr("retention.ms=-1"));
  EXPECT_THAT(described, ::testing::HasSubstr("cleanup.policy=delete"));
}

}  // namespace
}  // namespace threadline::testing
