// The topics the suite makes (labels kafka, e2e): the record (department,
// privacy and dead-letter topics) never deletes, since `journey rebuild`
// and `store recover` read it from its start; and a suite whose department
// topics have different partition counts refuses to start, since one
// customer's events must share a partition number in each.

#include <gmock/gmock.h>
#include <sys/wait.h>

#include <filesystem>

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
  std::vector<std::string> argv{BinaryFromEnv("THREADLINE_BIN"),
                                "serve",
                                "--data-dir",
                                data.string(),
                                "--listen",
                                "127.0.0.1:0"};
  ChildProcess p(argv, (dir.path() / "threadline.log").string());
  const int status = p.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status << "\n" << p.Log();
  EXPECT_EQ(WEXITSTATUS(status), 1) << p.Log();
  EXPECT_THAT(p.Log(), ::testing::HasSubstr("threadline.sales.v1 has 6 partitions and "
                                            "threadline.billing.v1 has 3"));
}

}  // namespace
}  // namespace threadline::testing
