// The SLA timer against a real store with a hand-moved clock: Tick() is
// called directly, nothing sleeps.

#include "indexes.h"
#include "threadline/command/testing.h"
#include "threadline/domain/domain.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/support/service.h"
#include "threadline/testing/testing.h"

namespace threadline::support {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
constexpr char kCustomer[] = "cus_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa";

class SlaTimerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = command::testing::OpenTestDepartment(dir_.path(), "support", v1::DEPARTMENT_SUPPORT,
                                                  &clock_);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    env_ = d->env;
    service_ = std::make_unique<SupportService>(env_);
    timer_ = std::make_unique<SlaTimer>(env_);
  }

  template <typename Request>
  Request Cmd(const std::string& request_id) {
    Request r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_PHONE);
    return r;
  }
  // An urgent complaint: due 4 hours after opening.
  std::string Open() {
    auto r = Cmd<v1::OpenTicketRequest>("open");
    r.set_customer_id(kCustomer);
    r.set_category(v1::TICKET_CATEGORY_COMPLAINT);
    r.set_priority(v1::TICKET_PRIORITY_URGENT);
    r.set_subject("No broadband since the installation");
    auto resp = service_->OpenTicket({}, r);
    EXPECT_OK(resp);
    return resp.ok() ? resp->ticket_id() : "";
  }
  size_t Tick() {
    auto n = timer_->Tick();
    EXPECT_OK(n);
    return n.ok() ? *n : 0;
  }
  std::vector<v1::SlaBreached> Breaches(const std::string& stream) {
    std::vector<v1::SlaBreached> out;
    auto events = store_->ReadStream(stream);
    EXPECT_OK(events);
    for (const auto& e : *events) {
      if (e.has_sla_breached()) out.push_back(e.sla_breached());
    }
    return out;
  }

  TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<eventstore::EventStore> store_;
  command::Env env_;
  std::unique_ptr<SupportService> service_;
  std::unique_ptr<SlaTimer> timer_;
};

TEST_F(SlaTimerTest, ATicketPastItsDueTimeBreachesOnceNotTwice) {
  std::string ticket = Open();
  clock_.Advance(hours(4) - minutes(1));
  EXPECT_EQ(Tick(), 0u);
  clock_.Advance(minutes(2));
  EXPECT_EQ(Tick(), 1u);
  EXPECT_EQ(Tick(), 0u);
  clock_.Advance(hours(10));
  EXPECT_EQ(Tick(), 0u);
  auto breaches = Breaches("ticket-" + ticket);
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_EQ(domain::FromProto(breaches[0].due_at()), kT0 + hours(4));
  EXPECT_EQ(breaches[0].tier(), v1::SUPPORT_TIER_L1);
  auto events = store_->ReadStream("ticket-" + ticket);
  ASSERT_OK(events);
  const auto& breach = events->back();
  EXPECT_EQ(breach.customer_id(), kCustomer);
  EXPECT_EQ(domain::FromProto(breach.occurred_at()), kT0 + hours(4));
  EXPECT_EQ(breach.actor().principal(), "support-sla-timer");
  v1::GetTicketRequest g;
  g.set_ticket_id(ticket);
  EXPECT_TRUE(service_->GetTicket(g)->sla_breached());
  EXPECT_EQ(timer_->Stats().breaches, 1u);
}

TEST_F(SlaTimerTest, EscalationAndReopeningSetNewDueTimesThatBreachAgain) {
  std::string ticket = Open();
  clock_.Advance(hours(5));
  EXPECT_EQ(Tick(), 1u);
  // Already late: escalation gives the supervisor a fresh 4 hours.
  auto escalate = Cmd<v1::EscalateTicketRequest>("esc");
  escalate.set_ticket_id(ticket);
  escalate.set_to_tier(v1::SUPPORT_TIER_SUPERVISOR);
  escalate.set_reason("customer threatens to cancel");
  ASSERT_OK(service_->EscalateTicket({}, escalate));
  clock_.Advance(hours(3));
  EXPECT_EQ(Tick(), 0u);
  clock_.Advance(hours(1));
  EXPECT_EQ(Tick(), 1u);

  auto resolve = Cmd<v1::ResolveTicketRequest>("res");
  resolve.set_ticket_id(ticket);
  resolve.set_resolution("line repaired");
  ASSERT_OK(service_->ResolveTicket({}, resolve));
  auto reopen = Cmd<v1::ReopenTicketRequest>("reo");
  reopen.set_ticket_id(ticket);
  reopen.set_reason("down again");
  ASSERT_OK(service_->ReopenTicket({}, reopen));
  clock_.Advance(hours(4));
  EXPECT_EQ(Tick(), 1u);
  EXPECT_EQ(Tick(), 0u);

  auto breaches = Breaches("ticket-" + ticket);
  ASSERT_EQ(breaches.size(), 3u);
  EXPECT_EQ(domain::FromProto(breaches[0].due_at()), kT0 + hours(4));
  EXPECT_EQ(domain::FromProto(breaches[1].due_at()), kT0 + hours(9));
  EXPECT_EQ(breaches[1].tier(), v1::SUPPORT_TIER_SUPERVISOR);
  EXPECT_EQ(domain::FromProto(breaches[2].due_at()), kT0 + hours(13));
  EXPECT_TRUE(store_->ScanClaims("open_ticket", "", 10)->empty());
}

TEST_F(SlaTimerTest, ResolvedTicketsAndCompletedCallbacksNeverBreach) {
  std::string ticket = Open();
  auto resolve = Cmd<v1::ResolveTicketRequest>("res");
  resolve.set_ticket_id(ticket);
  resolve.set_resolution("answered on the phone");
  ASSERT_OK(service_->ResolveTicket({}, resolve));
  auto call = Cmd<v1::RecordMissedCallRequest>("call");
  call.set_caller_number("+31612345678");
  auto missed = service_->RecordMissedCall({}, call);
  ASSERT_OK(missed);
  auto complete = Cmd<v1::CompleteCallbackRequest>("done");
  complete.set_callback_id(missed->callback_id());
  complete.set_reached(true);
  ASSERT_OK(service_->CompleteCallback({}, complete));
  clock_.Advance(hours(100));
  EXPECT_EQ(Tick(), 0u);
  EXPECT_TRUE(Breaches("ticket-" + ticket).empty());
  EXPECT_TRUE(Breaches("callback-" + missed->callback_id()).empty());
}

TEST_F(SlaTimerTest, StaleIndexEntriesAreDroppedWithoutABreach) {
  std::string ticket = Open();
  // As if the command's clean-up write was lost: resolve without it.
  auto events = store_->ReadStream("ticket-" + ticket);
  ASSERT_OK(events);
  auto resolved = events->back();
  resolved.clear_ticket_opened();
  resolved.set_event_id("manual-resolve");
  resolved.mutable_ticket_resolved()->set_ticket_id(ticket);
  eventstore::AppendRequest a;
  a.stream = "ticket-" + ticket;
  a.expected_version = StreamVersion(1);
  a.events = {resolved};
  ASSERT_OK(store_->Append(std::move(a)));
  ASSERT_EQ(store_->ScanClaims("open_ticket", "", 10)->size(), 1u);
  clock_.Advance(hours(5));
  EXPECT_EQ(Tick(), 0u);
  EXPECT_TRUE(store_->ScanClaims("open_ticket", "", 10)->empty());
  EXPECT_EQ(timer_->Stats().stale, 1u);
}

TEST_F(SlaTimerTest, AMissedCallBreachesTwoHoursAfterTheCallFromTheBackgroundThread) {
  auto call = Cmd<v1::RecordMissedCallRequest>("call");
  call.set_caller_number("+31612345678");
  *call.mutable_called_at() = domain::ToProto(kT0 - minutes(30));
  auto missed = service_->RecordMissedCall({}, call);
  ASSERT_OK(missed);
  SlaTimerOptions o;
  o.interval = std::chrono::milliseconds(10);
  SlaTimer timer(env_, o);
  ASSERT_OK(timer.Start());
  clock_.Advance(hours(1) + minutes(29));
  ASSERT_TRUE(WaitFor([&] { return timer.Stats().passes >= 2; }));
  EXPECT_EQ(timer.Stats().breaches, 0u);
  clock_.Advance(minutes(1));
  ASSERT_TRUE(WaitFor([&] { return timer.Stats().breaches == 1; }));
  timer.Stop();
  auto breaches = Breaches("callback-" + missed->callback_id());
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_EQ(domain::FromProto(breaches[0].due_at()), kT0 + hours(1) + minutes(30));
}

TEST(DeadlineIndexTest, ValuesSortEarliestFirstAndParseBack) {
  std::string early = index::DueValue(kT0, "tkt_b");
  std::string late = index::DueValue(kT0 + std::chrono::microseconds(1), "tkt_a");
  std::string much_later = index::DueValue(kT0 + hours(24 * 365 * 50), "tkt_0");
  EXPECT_LT(early, late);
  EXPECT_LT(late, much_later);
  auto parsed = index::ParseDueValue(late);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->due, kT0 + std::chrono::microseconds(1));
  EXPECT_EQ(parsed->id, "tkt_a");
  EXPECT_FALSE(index::ParseDueValue("12/tkt_a").has_value());
  EXPECT_FALSE(index::ParseDueValue(std::string(20, 'x') + "/tkt_a").has_value());
}

}  // namespace
}  // namespace threadline::support
