// The journey projector against a real Kafka broker, in its own process:
// SIGKILLed repeatedly while sales takes a steady load, it ends with every
// acknowledged event exactly once on the right timeline, and a rebuild from
// offset 0 equals the live projection (label kafka).

#include <csignal>
#include <map>
#include <thread>

#include "slice_test_body.h"

namespace threadline::testing {
namespace {

TEST(JourneyKafka, SigkillUnderLoadLosesAndDoublesNothingAndRebuildEqualsLive) {
  TempDir dir;
  const std::string brokers = KafkaBootstrapForTests();
  auto privacy = StartPrivacyProcess(dir.path(), brokers);
  SuiteProcess sales((dir.path() / "sales").string(),
                     WithKeysFrom(*privacy, {"--target", "sales", "--kafka-brokers", brokers}),
                     (dir.path() / "sales.log").string());
  const std::string journey_dir = (dir.path() / "journey").string();
  SuiteProcess journey(journey_dir,
                       WithKeysFrom(*privacy, {"--target", "journey", "--kafka-brokers", brokers}),
                       (dir.path() / "journey.log").string());

  // Load: customers with a few contacts each; remember every acknowledged
  // event per customer.
  constexpr int kCustomers = 30, kContactsEach = 3;
  std::map<std::string, std::vector<std::string>> acked;
  std::atomic<int> commands{0};
  std::thread load([&] {
    auto stub = sales.Sales();
    for (int c = 0; c < kCustomers; ++c) {
      auto reg = NewCustomer("load-" + std::to_string(c), "+3170" + std::to_string(1000000 + c));
      v1::RegisterCustomerResponse resp;
      auto s = stub->RegisterCustomer(Ctx().get(), reg, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
      acked[resp.customer_id()].push_back(resp.ack().event_ids(0));
      ++commands;
      for (int k = 0; k < kContactsEach; ++k) {
        v1::LogContactRequest r;
        r.set_request_id("load-" + std::to_string(c) + "-" + std::to_string(k));
        r.set_channel(v1::CHANNEL_EMAIL);
        r.set_customer_id(resp.customer_id());
        r.set_direction(v1::CONTACT_DIRECTION_INBOUND);
        r.set_outcome("mail " + std::to_string(k));
        v1::LogContactResponse cr;
        s = stub->LogContact(Ctx().get(), r, &cr);
        ASSERT_TRUE(s.ok()) << s.error_message();
        acked[resp.customer_id()].push_back(cr.ack().event_ids(0));
        ++commands;
      }
    }
  });
  // Kill the projector three times while the load runs: at a quarter,
  // half and three quarters of the commands.
  const int total = kCustomers * (1 + kContactsEach);
  int restarts = 0;
  for (int mark : {total / 4, total / 2, 3 * total / 4}) {
    ASSERT_TRUE(WaitFor([&] { return commands.load() >= mark; }, std::chrono::seconds(60)));
    journey.Kill(SIGKILL);
    journey.Restart();
    ++restarts;
  }
  load.join();
  ASSERT_EQ(commands.load(), total);

  // Settle: every acknowledged event exactly once, on its own customer.
  for (const auto& [customer, ids] : acked) {
    std::vector<v1::TimelineEntry> entries;
    ASSERT_TRUE(WaitFor(
        [&] {
          entries = Timeline(journey, customer);
          return entries.size() >= ids.size();
        },
        std::chrono::seconds(60)))
        << customer << " has " << entries.size() << " of " << ids.size();
    ASSERT_EQ(entries.size(), ids.size()) << "doubled entries for " << customer;
    std::set<std::string> want(ids.begin(), ids.end()), got;
    for (const auto& e : entries) got.insert(e.event_id());
    EXPECT_EQ(got, want) << customer;
  }
  std::cout << "commands acknowledged: " << total << ", projector restarts: " << restarts
            << std::endl;

  // Rebuild from offset 0 into a fresh store; it must equal the live one.
  journey.Kill(SIGTERM);
  ASSERT_GE(journey.process()->Wait(std::chrono::seconds(30)), 0);
  std::vector<std::string> customers;
  for (const auto& [customer, ids] : acked) customers.push_back(customer);
  const auto [live_digest, rebuilt_digest] = LiveAndRebuiltFingerprints(
      journey_dir + "/journey", dir.path(), brokers, privacy->address(), customers);
  EXPECT_EQ(live_digest.substr(0, live_digest.find(':')), std::to_string(total));
  EXPECT_EQ(live_digest, rebuilt_digest);
}

}  // namespace
}  // namespace threadline::testing
