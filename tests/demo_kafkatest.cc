// The demo story with every service in its own process on a real Kafka
// broker; Kafka's own console consumer then reads the journey topic and
// finds the story's entries (label kafka).

#include "demo_test_body.h"

namespace threadline::testing {
namespace {

TEST(DemoKafka, EveryServiceItsOwnProcessAndTheJourneyTopicTellsTheStory) {
  TempDir dir;
  const std::string brokers = KafkaBootstrapForTests();
  auto privacy = StartPrivacyProcess(dir.path(), brokers);
  std::vector<std::unique_ptr<SuiteProcess>> services;
  for (const char* target : {"sales", "installation", "support", "billing", "journey"}) {
    services.push_back(std::make_unique<SuiteProcess>(
        (dir.path() / target).string(),
        WithKeysFrom(*privacy, {"--target", target, "--kafka-brokers", brokers}),
        (dir.path() / (std::string(target) + ".log")).string()));
  }
  // Every service has its own address; the demo talks to each directly.
  SuiteProcess& journey = *services.back();
  std::string customer;
  {
    std::vector<std::string> argv{BinaryFromEnv("THREADLINE_DEMO_BIN"), "--quiet"};
    const char* names[] = {"--sales", "--installation", "--support", "--billing", "--journey"};
    for (size_t i = 0; i < services.size(); ++i) {
      argv.push_back(names[i]);
      argv.push_back(services[i]->address());
    }
    ChildProcess demo(argv, (dir.path() / "demo.log").string());
    int status = demo.Wait(std::chrono::seconds(120));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << demo.Log();
    std::string out = demo.Log();
    auto end = out.find_last_not_of('\n');
    auto start = out.rfind('\n', end);
    customer = out.substr(start == std::string::npos ? 0 : start + 1,
                          end - (start == std::string::npos ? 0 : start + 1) + 1);
  }
  ExpectDemoCard(journey, customer);

  // Kafka's console consumer, a client nobody here wrote, reads the journey
  // topic: keys are customer ids, headers name the entry kinds.
  const char* script = std::getenv("THREADLINE_KAFKA_SCRIPT");
  ASSERT_NE(script, nullptr);
  ChildProcess consumer(
      {script, "tool", "org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server",
       brokers, "--topic", "threadline.journey.v1", "--from-beginning", "--timeout-ms", "10000",
       "--property", "print.key=true", "--property", "print.headers=true", "--property",
       "print.value=false"},
      (dir.path() / "console.log").string());
  consumer.Wait(std::chrono::seconds(90));
  std::string seen = consumer.Log();
  for (const char* kind :
       {"CustomerRegistered", "OrderPlaced", "WorkOrderCreated", "InstallationCompleted",
        "ChargeHeld", "TicketOpened", "MissedCallLinked"}) {
    EXPECT_NE(seen.find(std::string("event_type:") + kind), std::string::npos)
        << kind << " not on the journey topic:\n"
        << seen.substr(0, 4000);
  }
  EXPECT_NE(seen.find(customer), std::string::npos);
}

}  // namespace
}  // namespace threadline::testing
