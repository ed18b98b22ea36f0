// Forgetting a person with each service in its own process on a real Kafka
// broker (label kafka): the departments and the journey fetch their keys
// from the privacy process over gRPC and keep them in memory only. After
// an erasure, processes that held the key drop it while they run; no byte
// of the person is left in any data directory, any log, or the broker's own
// log directories; Kafka's console consumer sees only ciphertext for
// personal fields; and a rebuild from the topics equals the live journey.

#include "privacy_test_body.h"

namespace threadline::testing {
namespace {

constexpr char kDropped[] = "dropped the data key of an erased customer";

class PrivacyKafka : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = KafkaBootstrapForTests();
    ASSERT_FALSE(brokers_.empty()) << "no Kafka broker; run with ctest -L kafka";
    // The privacy service reads exports from the journey, and the journey
    // needs keys to catch up: the journey's port is chosen first, and the
    // journey starts right after the privacy process, which keeps short the
    // time in which another process could take that port.
    const int journey_port = FreePort();
    privacy_ = StartPrivacyProcess(
        dir_.path(), brokers_, {"--journey-address", "127.0.0.1:" + std::to_string(journey_port)});
    journey_ = std::make_unique<SuiteProcess>(
        (dir_.path() / "journey").string(),
        WithKeysFrom(*privacy_, {"--target", "journey", "--kafka-brokers", brokers_}),
        (dir_.path() / "journey.log").string(), journey_port);
    support_metrics_ = FreePort();
    for (const char* target : {"sales", "installation", "support", "billing"}) {
      std::vector<std::string> args{"--target", target, "--kafka-brokers", brokers_};
      if (std::string(target) == "support") {
        args.push_back("--metrics-listen");
        args.push_back("127.0.0.1:" + std::to_string(support_metrics_));
      }
      depts_[target] = std::make_unique<SuiteProcess>(
          (dir_.path() / target).string(), WithKeysFrom(*privacy_, args),
          (dir_.path() / (std::string(target) + ".log")).string());
    }
  }

  PrivacyStoryTargets Targets() {
    return {depts_["sales"].get(), depts_["support"].get(), journey_.get(), privacy_.get()};
  }

  v1::Ticket GetTicket(const std::string& ticket_id, grpc::Status* status) {
    v1::GetTicketRequest r;
    r.set_ticket_id(ticket_id);
    v1::Ticket t;
    *status = depts_["support"]->Support()->GetTicket(Ctx().get(), r, &t);
    return t;
  }

  // Every message of `topics` from the beginning, as Kafka's own console
  // consumer prints them (key, then the value's bytes).
  std::string ConsoleConsume(const std::vector<std::string>& topics) {
    const char* script = std::getenv("THREADLINE_KAFKA_SCRIPT");
    EXPECT_NE(script, nullptr);
    std::string include;
    for (const auto& t : topics) include += (include.empty() ? "" : "|") + t;
    ChildProcess consumer({script, "tool", "org.apache.kafka.tools.consumer.ConsoleConsumer",
                           "--bootstrap-server", brokers_, "--include", include, "--from-beginning",
                           "--timeout-ms", "10000", "--property", "print.key=true"},
                          (dir_.path() / "console.log").string());
    consumer.Wait(std::chrono::seconds(120));
    return consumer.Log();
  }

  static std::string Lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  }

  TempDir dir_;
  std::string brokers_;
  int support_metrics_ = 0;
  std::unique_ptr<SuiteProcess> privacy_;
  std::map<std::string, std::unique_ptr<SuiteProcess>> depts_;
  std::unique_ptr<SuiteProcess> journey_;
};

TEST_F(PrivacyKafka, EachServiceItsOwnProcessForgetsThePersonEverywhere) {
  const PrivacyStory story = SeedPrivacyStory(Targets());
  ASSERT_FALSE(HasFailure());
  // Support holds the customer's key in memory: it opens the ticket.
  grpc::Status st;
  EXPECT_EQ(GetTicket(story.ticket, &st).subject(), "Mr Quillfeather's router is dead");
  ASSERT_TRUE(st.ok()) << st.error_message();

  ExportThenErase(Targets(), story);
  ASSERT_FALSE(HasFailure());

  // Every running process that could hold the key hears of the erasure
  // on the privacy topic and drops it.
  for (SuiteProcess* p : {depts_["sales"].get(), depts_["installation"].get(),
                          depts_["support"].get(), depts_["billing"].get(), journey_.get()}) {
    EXPECT_TRUE(WaitFor(
        [&] {
          const std::string log = p->Log();
          const auto at = log.find(kDropped);
          return at != std::string::npos && log.find(story.gone, at) != std::string::npos;
        },
        std::chrono::seconds(60)))
        << p->Log().substr(0, 4000);
  }
  const std::string metrics = HttpGet(support_metrics_, "/metrics");
  EXPECT_NE(metrics.find("\nthreadline_key_cache_erasures_total 1\n"), std::string::npos)
      << metrics;
  // Its next read of the customer's sealed fields reads as erased.
  const v1::Ticket after = GetTicket(story.ticket, &st);
  if (st.ok()) {
    EXPECT_EQ(after.subject(), "") << after.DebugString();
    EXPECT_EQ(after.description(), "") << after.DebugString();
  } else {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  }
  ExpectForgotten(Targets(), story);

  // Kafka's console consumer, a client nobody here wrote: the department
  // topics carry the customers' ids in the clear and their personal fields
  // sealed, the erased customer's and everyone else's alike.
  const std::string consumed =
      Lower(ConsoleConsume({"threadline.sales.v1", "threadline.support.v1",
                            "threadline.installation.v1", "threadline.billing.v1"}));
  EXPECT_NE(consumed.find(story.gone), std::string::npos) << consumed.substr(0, 2000);
  EXPECT_NE(consumed.find(story.before), std::string::npos);
  EXPECT_NE(consumed.find("tl1:"), std::string::npos) << "no sealed value on the topics";
  for (const char* plain : {"quillfeather", "zebulon", "kerkstraat", "griselda", "marchbanks",
                            "dorpsstraat", "hieronymus", "router is dead"}) {
    EXPECT_EQ(consumed.find(plain), std::string::npos) << "'" << plain << "' on a topic";
  }

  // A rebuild from the topics, with keys from the privacy process, equals
  // the live journey.
  journey_->Kill(SIGTERM);
  ASSERT_EQ(journey_->process()->Wait(std::chrono::seconds(30)), 0) << journey_->Log();
  const std::string rebuilt = (dir_.path() / "rebuilt").string();
  RunThreadline({"journey", "rebuild", "--out", rebuilt, "--kafka-brokers", brokers_, "--data-dir",
                 (dir_.path() / "scratch").string(), "--privacy-address", privacy_->address()},
                (dir_.path() / "rebuild.log").string());
  auto fingerprint = [&](const std::string& path, const std::string& log) {
    return LastLine(
        RunThreadline({"journey", "fingerprint", "--path", path, "--kafka-brokers", brokers_,
                       "--privacy-address", privacy_->address(), "--customer", story.before,
                       "--customer", story.gone, "--customer", story.after},
                      (dir_.path() / log).string()));
  };
  const std::string live =
      fingerprint((dir_.path() / "journey" / "journey").string(), "fp-live.log");
  EXPECT_FALSE(live.empty());
  EXPECT_EQ(live, fingerprint(rebuilt, "fp-rebuilt.log"));

  // No trace in any file of any process (stores, vault, journey, logs) or
  // of the broker (its log segments and its own logs). The customer's id is
  // in both: the search reads what was written.
  for (auto& [name, p] : depts_) {
    p->Kill(SIGTERM);
    EXPECT_EQ(p->process()->Wait(std::chrono::seconds(30)), 0) << name << ":\n" << p->Log();
  }
  privacy_->Kill(SIGTERM);
  EXPECT_EQ(privacy_->process()->Wait(std::chrono::seconds(30)), 0) << privacy_->Log();
  const char* kafka_dir = std::getenv("THREADLINE_KAFKA_DIR");
  ASSERT_NE(kafka_dir, nullptr) << "run through ctest -L kafka";
  EXPECT_FALSE(FilesContaining(dir_.path(), story.gone).empty());
  EXPECT_FALSE(FilesContaining(kafka_dir, story.gone).empty()) << "the broker's files are not read";
  ExpectNoTraceUnder(dir_.path());
  ExpectNoTraceUnder(kafka_dir);
}

}  // namespace
}  // namespace threadline::testing
