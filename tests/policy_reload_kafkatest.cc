// A policy change in the middle of the record, on a real Kafka broker
// (label kafka): sales and support in one process, the journey and the
// privacy target in their own, all with --policy-file. Tickets opened
// before a SIGHUP get the old due time and after it the new one; the
// department process records the change in its stores, the journey and
// privacy processes only log it; and a journey rebuilt from the topics,
// PolicyChanged events and all, equals the live one: the due times are on
// the events, so no replay needs the policy of its day.

#include <gmock/gmock.h>

#include <csignal>
#include <fstream>
#include <map>

#include "slice_test_body.h"
#include "threadline/policy/policy.h"

namespace threadline::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ComplaintWithin(const std::string& within) {
  return "sla:\n"
         "  tickets:\n"
         "    - category: complaint\n"
         "      priority: high\n"
         "      resolution: {within: " +
         within + "}\n";
}

std::string DigestOf(const std::string& text) {
  auto p = policy::Policy::Parse(text, "policy.yaml");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? p->digest() : "";
}

int64_t SecondsFromNow(const google::protobuf::Timestamp& t) {
  return t.seconds() - std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
}

TEST(PolicyReloadKafka, ARebuildAfterAPolicyChangeGivesTheCardsOfTheLiveJourney) {
  TempDir dir;
  const std::string brokers = KafkaBootstrapForTests();
  const std::string file = (dir.path() / "policy.yaml").string();
  const std::string eight = ComplaintWithin("8h"), two = ComplaintWithin("2h");
  std::ofstream(file) << eight;
  auto privacy = StartPrivacyProcess(dir.path(), brokers, {"--policy-file", file});
  SuiteProcess departments((dir.path() / "departments").string(),
                           WithKeysFrom(*privacy, {"--target", "sales,support", "--kafka-brokers",
                                                   brokers, "--policy-file", file}),
                           (dir.path() / "departments.log").string());
  const std::string journey_dir = (dir.path() / "journey").string();
  SuiteProcess journey(journey_dir,
                       WithKeysFrom(*privacy, {"--target", "journey", "--kafka-brokers", brokers,
                                               "--policy-file", file}),
                       (dir.path() / "journey.log").string());

  constexpr int kCustomers = 3;
  std::map<std::string, size_t> events;  // acknowledged, per customer
  std::vector<std::string> customers;
  auto open_complaint = [&](const std::string& customer, const std::string& request_id) {
    v1::OpenTicketRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_customer_id(customer);
    r.set_category(v1::TICKET_CATEGORY_COMPLAINT);
    r.set_priority(v1::TICKET_PRIORITY_HIGH);
    r.set_subject("No signal since Monday");
    v1::OpenTicketResponse resp;
    auto s = departments.Support()->OpenTicket(Ctx().get(), r, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    events[customer] += static_cast<size_t>(resp.ack().event_ids_size());
    return resp;
  };
  std::map<std::string, std::string> before_ticket, after_ticket;
  for (int c = 0; c < kCustomers; ++c) {
    v1::RegisterCustomerResponse reg;
    auto s = departments.Sales()->RegisterCustomer(
        Ctx().get(),
        NewCustomer("policy-kafka-" + std::to_string(c), "+3172" + std::to_string(1000000 + c)),
        &reg);
    ASSERT_TRUE(s.ok()) << s.error_message();
    customers.push_back(reg.customer_id());
    events[reg.customer_id()] += static_cast<size_t>(reg.ack().event_ids_size());
    auto t = open_complaint(reg.customer_id(), "policy-kafka-before-" + std::to_string(c));
    before_ticket[reg.customer_id()] = t.ticket_id();
    EXPECT_NEAR(SecondsFromNow(t.sla_due_at()), 8 * 3600, 60);
  }

  // The change, between one customer's events and the next.
  std::ofstream(file, std::ios::trunc) << two;
  const std::string changed = "policy changed file=" + file +
                              " previous_digest=" + DigestOf(eight) + " digest=" + DigestOf(two);
  for (SuiteProcess* p : {&departments, &journey, privacy.get()}) {
    p->Kill(SIGHUP);
    ASSERT_TRUE(WaitFor([&] { return p->Log().find(changed) != std::string::npos; },
                        std::chrono::seconds(20)))
        << p->Log();
  }
  // Both department stores of the process record it, after the change.
  for (const std::string store : {"sales", "support"}) {
    const std::string recorded = "policy recorded store=" + store + " digest=" + DigestOf(two);
    EXPECT_TRUE(WaitFor([&] { return departments.Log().find(recorded) != std::string::npos; }))
        << departments.Log();
  }
  // No department store there: log only.
  EXPECT_THAT(journey.Log(), Not(HasSubstr("policy recorded")));
  EXPECT_THAT(privacy->Log(), Not(HasSubstr("policy recorded")));

  for (const auto& customer : customers) {
    auto t = open_complaint(customer, "policy-kafka-after-" + customer);
    after_ticket[customer] = t.ticket_id();
    EXPECT_NEAR(SecondsFromNow(t.sla_due_at()), 2 * 3600, 60);
  }

  // Live: every event on its timeline, and each card with both due times.
  size_t total = 0;
  for (const auto& customer : customers) {
    total += events[customer];
    ASSERT_TRUE(WaitFor([&] { return Timeline(journey, customer).size() >= events[customer]; },
                        std::chrono::seconds(60)))
        << customer << "\n"
        << journey.Log();
    EXPECT_EQ(Timeline(journey, customer).size(), events[customer]);
    v1::GetCustomerContextRequest r;
    r.set_customer_id(customer);
    v1::CustomerContext card;
    auto s = journey.Journey()->GetCustomerContext(Ctx().get(), r, &card);
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, int64_t> due;
    for (const auto& t : card.open_tickets()) due[t.ticket_id()] = SecondsFromNow(t.sla_due_at());
    ASSERT_EQ(due.size(), 2u) << card.ShortDebugString();
    EXPECT_NEAR(due[before_ticket[customer]], 8 * 3600, 120);
    EXPECT_NEAR(due[after_ticket[customer]], 2 * 3600, 120);
  }

  // Rebuilt from offset 0 with today's policy in force: the same cards.
  journey.Kill(SIGTERM);
  ASSERT_GE(journey.process()->Wait(std::chrono::seconds(30)), 0);
  const auto [live, again] = LiveAndRebuiltFingerprints(journey_dir + "/journey", dir.path(),
                                                        brokers, privacy->address(), customers);
  EXPECT_EQ(live.substr(0, live.find(':')), std::to_string(total));
  EXPECT_EQ(live, again);
}

}  // namespace
}  // namespace threadline::testing
