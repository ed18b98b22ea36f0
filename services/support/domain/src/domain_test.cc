#include "threadline/support/domain.h"

#include <gmock/gmock.h>

#include "threadline/domain/test_context.h"
#include "threadline/testing/testing.h"

namespace threadline::support {
namespace {

using domain::FromProto;
using domain::TestId;
using std::chrono::hours;
using std::chrono::minutes;

constexpr int64_t kNowSeconds = 1'760'000'000;  // 2025-10-09T08:53:20Z
const TimePoint kNow = FromUnixMicros(kNowSeconds * 1'000'000);

MATCHER_P2(IsError, code, text, "") {
  const absl::Status& s = ::threadline::testing::AsStatus(arg);
  *result_listener << "status: " << s;
  return s.code() == code && s.message().find(text) != absl::string_view::npos;
}

const std::string kCustomer = TestId("cus", 900);
const std::string kOther = TestId("cus", 901);
const std::string kTicket = TestId("tkt", 500);
const std::string kCallback = TestId("cb", 600);

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr auto kPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr auto kNotFound = absl::StatusCode::kNotFound;

class SupportDomainTest : public ::testing::Test {
 protected:
  SupportDomainTest() : ctx_(domain::TestContext(kNow)), policy_(SlaPolicy::Defaults()) {}

  // Events as the service stores them: customer, version and time stamped.
  void Given(const domain::Events& events) {
    for (auto e : events) {
      if (e.customer_id().empty()) e.set_customer_id(customer_for_stamp_);
      e.set_version(++version_);
      if (!e.has_occurred_at()) *e.mutable_occurred_at() = domain::ToProto(ctx_.now);
      Evolve(ticket_, e);
      Evolve(callback_, e);
      Evolve(directory_, e);
    }
  }
  void Given(const absl::StatusOr<domain::Events>& events) {
    ASSERT_OK(events);
    Given(*events);
  }

  static v1::OpenTicketRequest Open(v1::TicketCategory category = v1::TICKET_CATEGORY_COMPLAINT,
                                    v1::TicketPriority priority = v1::TICKET_PRIORITY_URGENT) {
    v1::OpenTicketRequest r;
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_customer_id(kCustomer);
    r.set_category(category);
    r.set_priority(priority);
    r.set_subject("Installer did not set up broadband");
    r.set_description("Sales promised full installation; only the line was connected.");
    return r;
  }
  absl::StatusOr<domain::Events> When(const v1::OpenTicketRequest& r) {
    return Decide(ticket_, r, ctx_, kTicket, policy_);
  }
  absl::StatusOr<domain::Events> When(const v1::EscalateTicketRequest& r) {
    return Decide(ticket_, r, ctx_, policy_);
  }
  absl::StatusOr<domain::Events> When(const v1::ReopenTicketRequest& r) {
    return Decide(ticket_, r, ctx_, policy_);
  }
  absl::StatusOr<domain::Events> When(const v1::AddInteractionRequest& r) {
    return Decide(ticket_, r, ctx_, policy_);
  }
  absl::StatusOr<domain::Events> When(const v1::SetTicketWaitingRequest& r) {
    return Decide(ticket_, r, ctx_, policy_);
  }
  absl::StatusOr<domain::Events> When(const v1::ResumeTicketRequest& r) {
    return Decide(ticket_, r, ctx_, policy_);
  }
  template <typename Cmd>
  absl::StatusOr<domain::Events> When(const Cmd& r) {
    return Decide(ticket_, r, ctx_);
  }
  void GivenTicket(v1::TicketCategory category = v1::TICKET_CATEGORY_COMPLAINT,
                   v1::TicketPriority priority = v1::TICKET_PRIORITY_URGENT) {
    Given(When(Open(category, priority)));
  }

  static v1::EscalateTicketRequest Escalate(v1::SupportTier to) {
    v1::EscalateTicketRequest r;
    r.set_ticket_id(kTicket);
    r.set_to_tier(to);
    r.set_reason("needs a technician's diagnosis");
    return r;
  }
  static v1::ResolveTicketRequest Resolve() {
    v1::ResolveTicketRequest r;
    r.set_ticket_id(kTicket);
    r.set_resolution("broadband set-up booked with a second visit");
    return r;
  }
  static v1::ReopenTicketRequest Reopen() {
    v1::ReopenTicketRequest r;
    r.set_ticket_id(kTicket);
    r.set_reason("second visit did not happen");
    return r;
  }
  static v1::AddInteractionRequest Note(bool from_customer) {
    v1::AddInteractionRequest r;
    r.set_ticket_id(kTicket);
    r.set_note(from_customer ? "Still no internet." : "Called the installer team.");
    r.set_from_customer(from_customer);
    return r;
  }

  static v1::RecordMissedCallRequest MissedCall(const char* number = "06 1234 5678") {
    v1::RecordMissedCallRequest r;
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_caller_number(number);
    r.mutable_called_at()->set_seconds(kNowSeconds - 600);
    r.set_line("+31 20 555 0100 (support)");
    return r;
  }
  absl::StatusOr<domain::Events> WhenMissedCall(const v1::RecordMissedCallRequest& r) {
    return Decide(callback_, r, ctx_, kCallback, directory_.AsLookup(), policy_);
  }
  static v1::CustomerRegistered Registration(const std::string& customer,
                                             std::vector<std::string> phones) {
    v1::CustomerRegistered p;
    p.set_customer_id(customer);
    p.set_name("Anna de Vries");
    for (auto& phone : phones) p.add_phone_numbers(phone);
    p.add_emails("anna@example.org");
    return p;
  }
  static v1::EventEnvelope Registered(const std::string& customer,
                                      std::vector<std::string> phones) {
    v1::EventEnvelope e;
    e.set_event_id("evt-registered-" + customer);
    e.set_customer_id(customer);
    *e.mutable_customer_registered() = Registration(customer, std::move(phones));
    return e;
  }
  static v1::ScheduleCallbackRequest Schedule() {
    v1::ScheduleCallbackRequest r;
    r.set_customer_id(kCustomer);
    r.set_ticket_id(kTicket);
    r.set_phone_number("+31 6 1234 5678");
    r.mutable_due_at()->set_seconds(kNowSeconds + 3600);
    r.set_reason("promised to call back with the new appointment");
    return r;
  }
  static v1::CompleteCallbackRequest Complete(bool reached, const char* note) {
    v1::CompleteCallbackRequest r;
    r.set_callback_id(kCallback);
    r.set_reached(reached);
    r.set_note(note);
    return r;
  }

  domain::CommandContext ctx_;
  SlaPolicy policy_;
  TicketState ticket_;
  CallbackState callback_;
  Directory directory_;
  std::string customer_for_stamp_ = kCustomer;
  uint64_t version_ = 0;
};

// ---- SlaPolicy ----

TEST(SlaPolicyTest, DefaultsAreTheDocumentedTargets) {
  const SlaPolicy& p = SlaPolicy::Defaults();
  auto resolve = [&](v1::TicketCategory c, v1::TicketPriority pr) {
    return p.TicketTarget(c, pr).resolution->within;
  };
  EXPECT_EQ(resolve(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_URGENT), hours(4));
  EXPECT_EQ(resolve(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_LOW), hours(48));
  EXPECT_EQ(resolve(v1::TICKET_CATEGORY_QUESTION, v1::TICKET_PRIORITY_LOW), hours(72));
  EXPECT_EQ(resolve(v1::TICKET_CATEGORY_CANCELLATION, v1::TICKET_PRIORITY_LOW), hours(24));
  EXPECT_EQ(p.EscalatedTarget(v1::SUPPORT_TIER_L2).within, hours(8));
  EXPECT_EQ(p.EscalatedTarget(v1::SUPPORT_TIER_SUPERVISOR).within, hours(4));
  EXPECT_EQ(p.MissedCallCallback().within, hours(2));
  EXPECT_EQ(resolve(v1::TICKET_CATEGORY_UNSPECIFIED, v1::TICKET_PRIORITY_HIGH), hours(72));
}

// ---- OpenTicket ----

TEST_F(SupportDomainTest, OpenTicketStartsAtFirstLevelWithAnSla) {
  auto events = When(Open());
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& p = (*events)[0].ticket_opened();
  EXPECT_EQ(p.ticket_id(), kTicket);
  EXPECT_EQ(p.tier(), v1::SUPPORT_TIER_L1);
  EXPECT_EQ(FromProto(p.sla_due_at()), kNow + hours(4));  // complaint, urgent

  auto question = When(Open(v1::TICKET_CATEGORY_QUESTION, v1::TICKET_PRIORITY_LOW));
  ASSERT_OK(question);
  EXPECT_EQ(FromProto((*question)[0].ticket_opened().sla_due_at()), kNow + hours(72));

  auto stamped = (*events)[0];
  stamped.set_channel(v1::CHANNEL_PHONE);
  Given(domain::Events{stamped});
  v1::Ticket view = ToView(ticket_);
  EXPECT_EQ(view.status(), v1::TICKET_STATUS_OPEN);
  EXPECT_EQ(view.customer_id(), kCustomer);
  EXPECT_EQ(view.opened_via(), v1::CHANNEL_PHONE);
  EXPECT_FALSE(view.sla_breached());
  EXPECT_EQ(view.version(), 1u);
}

TEST_F(SupportDomainTest, OpenTicketValidatesInput) {
  auto bad = Open();
  bad.set_customer_id("anna");
  EXPECT_THAT(When(bad), IsError(kInvalid, "customer_id: "));
  bad = Open();
  bad.set_category(v1::TICKET_CATEGORY_UNSPECIFIED);
  EXPECT_THAT(When(bad), IsError(kInvalid, "category: is required; expected one of"));
  bad = Open();
  bad.set_priority(static_cast<v1::TicketPriority>(42));
  EXPECT_THAT(When(bad), IsError(kInvalid, "priority: 42 is not a known value"));
  bad = Open();
  bad.set_subject(" ");
  EXPECT_THAT(When(bad), IsError(kInvalid, "subject: "));
  GivenTicket();
  EXPECT_THAT(When(Open()), IsError(absl::StatusCode::kAlreadyExists, "already exists"));
}

// ---- AddInteraction ----

TEST_F(SupportDomainTest, InteractionsAreKept) {
  GivenTicket();
  Given(When(Note(true)));
  Given(When(Note(false)));
  v1::Ticket view = ToView(ticket_);
  ASSERT_EQ(view.interactions_size(), 2);
  EXPECT_TRUE(view.interactions(0).from_customer());
  EXPECT_EQ(view.interactions(1).note(), "Called the installer team.");
}

TEST_F(SupportDomainTest, CustomerMessageOnResolvedTicketAsksToReopen) {
  EXPECT_THAT(When(Note(true)), IsError(kNotFound, "ticket not found"));
  GivenTicket();
  Given(When(Resolve()));
  EXPECT_THAT(When(Note(true)), IsError(kPrecondition, "reopen it (ReopenTicket)"));
  EXPECT_OK(When(Note(false)));  // an agent's note after the fact is fine
  auto empty = Note(false);
  empty.clear_note();
  EXPECT_THAT(When(empty), IsError(kInvalid, "note: is required"));
}

// ---- AssignTicket ----

TEST_F(SupportDomainTest, AssignTicketKeepsTheTierUnlessGiven) {
  GivenTicket();
  v1::AssignTicketRequest r;
  r.set_ticket_id(kTicket);
  r.set_team("fixed-line");
  r.set_agent("Ilse");
  auto events = When(r);
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].ticket_assigned().tier(), v1::SUPPORT_TIER_L1);
  Given(*events);
  r.set_tier(v1::SUPPORT_TIER_L2);
  Given(When(r));
  v1::Ticket view = ToView(ticket_);
  EXPECT_EQ(view.team(), "fixed-line");
  EXPECT_EQ(view.agent(), "Ilse");
  EXPECT_EQ(view.tier(), v1::SUPPORT_TIER_L2);
}

TEST_F(SupportDomainTest, AssignTicketRejections) {
  v1::AssignTicketRequest r;
  r.set_ticket_id(kTicket);
  EXPECT_THAT(When(r), IsError(kInvalid, "set a team, an agent or both"));
  r.set_team("fixed-line");
  r.set_tier(static_cast<v1::SupportTier>(9));
  EXPECT_THAT(When(r), IsError(kInvalid, "tier: 9"));
  r.clear_tier();
  EXPECT_THAT(When(r), IsError(kNotFound, "ticket not found"));
  GivenTicket();
  Given(When(Resolve()));
  EXPECT_THAT(When(r), IsError(kPrecondition, "is resolved"));
}

// ---- EscalateTicket ----

TEST_F(SupportDomainTest, FirstLevelCanAlwaysEscalate) {
  GivenTicket();
  auto to_l2 = When(Escalate(v1::SUPPORT_TIER_L2));
  ASSERT_OK(to_l2);
  EXPECT_EQ((*to_l2)[0].ticket_escalated().from_tier(), v1::SUPPORT_TIER_L1);
  EXPECT_EQ((*to_l2)[0].ticket_escalated().to_tier(), v1::SUPPORT_TIER_L2);
  EXPECT_OK(When(Escalate(v1::SUPPORT_TIER_SUPERVISOR)));
  Given(*to_l2);
  EXPECT_EQ(ToView(ticket_).tier(), v1::SUPPORT_TIER_L2);
  Given(When(Escalate(v1::SUPPORT_TIER_SUPERVISOR)));
  EXPECT_EQ(ToView(ticket_).tier(), v1::SUPPORT_TIER_SUPERVISOR);
}

TEST_F(SupportDomainTest, EscalationGoesStrictlyUp) {
  GivenTicket();
  EXPECT_THAT(When(Escalate(v1::SUPPORT_TIER_L1)),
              IsError(kPrecondition,
                      "is at L1; escalation goes to a higher tier (L2 or "
                      "SUPERVISOR), not to L1"));
  Given(When(Escalate(v1::SUPPORT_TIER_L2)));
  EXPECT_THAT(When(Escalate(v1::SUPPORT_TIER_L2)), IsError(kPrecondition, "(SUPERVISOR)"));
  EXPECT_THAT(When(Escalate(v1::SUPPORT_TIER_L1)), IsError(kPrecondition, "not to L1"));
  Given(When(Escalate(v1::SUPPORT_TIER_SUPERVISOR)));
  EXPECT_THAT(When(Escalate(v1::SUPPORT_TIER_SUPERVISOR)),
              IsError(kPrecondition, "already at SUPERVISOR, the highest tier"));
}

TEST_F(SupportDomainTest, EscalateRejections) {
  EXPECT_THAT(When(Escalate(v1::SUPPORT_TIER_UNSPECIFIED)), IsError(kInvalid, "to_tier: "));
  auto no_reason = Escalate(v1::SUPPORT_TIER_L2);
  no_reason.clear_reason();
  EXPECT_THAT(When(no_reason), IsError(kInvalid, "reason: "));
  EXPECT_THAT(When(Escalate(v1::SUPPORT_TIER_L2)), IsError(kNotFound, "ticket not found"));
  GivenTicket();
  Given(When(Resolve()));
  EXPECT_THAT(When(Escalate(v1::SUPPORT_TIER_L2)), IsError(kPrecondition, "is resolved"));
}

TEST_F(SupportDomainTest, EscalationNeverPostponesTheDueTime) {
  GivenTicket(v1::TICKET_CATEGORY_QUESTION, v1::TICKET_PRIORITY_LOW);  // due in 72h
  auto to_l2 = When(Escalate(v1::SUPPORT_TIER_L2));
  ASSERT_OK(to_l2);
  EXPECT_EQ(FromProto((*to_l2)[0].ticket_escalated().sla_due_at()), kNow + hours(8));

  TicketState urgent;
  ticket_ = urgent;
  GivenTicket();  // complaint, urgent: due in 4h
  to_l2 = When(Escalate(v1::SUPPORT_TIER_L2));
  ASSERT_OK(to_l2);
  EXPECT_EQ(FromProto((*to_l2)[0].ticket_escalated().sla_due_at()), kNow + hours(4));
}

// ---- Resolve / Reopen ----

TEST_F(SupportDomainTest, ResolveAndReopenWithANewSla) {
  GivenTicket();
  EXPECT_THAT(When(Reopen()), IsError(kPrecondition, "is still open"));
  Given(When(Escalate(v1::SUPPORT_TIER_L2)));
  Given(When(Resolve()));
  EXPECT_EQ(ToView(ticket_).status(), v1::TICKET_STATUS_RESOLVED);
  EXPECT_EQ(ToView(ticket_).resolution(), "broadband set-up booked with a second visit");
  EXPECT_THAT(When(Resolve()), IsError(kPrecondition, "already resolved"));

  ctx_.now = kNow + hours(30);
  auto reopened = When(Reopen());
  ASSERT_OK(reopened);
  EXPECT_EQ(FromProto((*reopened)[0].ticket_reopened().sla_due_at()), ctx_.now + hours(4));
  Given(*reopened);
  v1::Ticket view = ToView(ticket_);
  EXPECT_EQ(view.status(), v1::TICKET_STATUS_OPEN);
  EXPECT_EQ(view.tier(), v1::SUPPORT_TIER_L2);  // the tier stays
  EXPECT_EQ(view.resolution(), "");
}

TEST_F(SupportDomainTest, ResolveAndReopenRejections) {
  EXPECT_THAT(When(Resolve()), IsError(kNotFound, "ticket not found"));
  EXPECT_THAT(When(Reopen()), IsError(kNotFound, "ticket not found"));
  auto no_resolution = Resolve();
  no_resolution.clear_resolution();
  EXPECT_THAT(When(no_resolution), IsError(kInvalid, "resolution: "));
  auto bad_id = Reopen();
  bad_id.set_ticket_id(kCallback);
  EXPECT_THAT(When(bad_id), IsError(kInvalid, "ticket_id: "));
}

// ---- SLA timer ----

// A policy with a first-response target in wall-clock time and one in the
// business hours of an office (Mon-Fri 08:00-18:00, Europe/Berlin).
const SlaPolicy& ClockPolicy() {
  static const SlaPolicy* p = [] {
    auto parsed = SlaPolicy::Parse(R"(
calendars:
  office:
    time_zone: Europe/Berlin
    hours:
      mon: ["08:00-18:00"]
      tue: ["08:00-18:00"]
      wed: ["08:00-18:00"]
      thu: ["08:00-18:00"]
      fri: ["08:00-18:00"]
sla:
  tickets:
    - category: complaint
      priority: high
      first_response: {within: 2h}
      resolution: {within: 8h}
    - category: fault
      priority: normal
      resolution: {within: 4h, calendar: office}
  at_risk_at: 0.8
  reopen: remaining
)",
                                   "clocks.yaml");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return new SlaPolicy(*std::move(parsed));
  }();
  return *p;
}

v1::AddInteractionRequest Reply(bool from_customer, bool internal = false) {
  v1::AddInteractionRequest r;
  r.set_ticket_id(kTicket);
  r.set_note(from_customer ? "Here is the photo of the router." : "We are on it.");
  r.set_from_customer(from_customer);
  r.set_internal(internal);
  return r;
}

TEST_F(SupportDomainTest, FirstResponseWarnsThenBreachesUnlessAnswered) {
  policy_ = ClockPolicy();
  GivenTicket(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_HIGH);
  EXPECT_EQ(ToView(ticket_).first_response_due_at().seconds(), kNowSeconds + 2 * 3600);
  EXPECT_EQ(ToView(ticket_).resolution_due_at().seconds(), kNowSeconds + 8 * 3600);
  EXPECT_EQ(ToView(ticket_).sla_due_at().seconds(), kNowSeconds + 8 * 3600);
  EXPECT_EQ(NextDeadline(ticket_), kNow + minutes(96));  // 80 % of 2 h
  EXPECT_TRUE(DueBreaches(ticket_, kNow + minutes(90)).empty());
  auto warned = DueBreaches(ticket_, kNow + minutes(100));
  ASSERT_EQ(warned.size(), 1u);
  EXPECT_EQ(warned[0].sla_at_risk().target(), "first_response");
  EXPECT_EQ(FromProto(warned[0].occurred_at()), kNow + minutes(96));
  Given(warned);
  EXPECT_TRUE(ToView(ticket_).at_risk());
  EXPECT_EQ(NextDeadline(ticket_), kNow + hours(2));
  // An internal note answers nobody; the breach comes.
  ctx_.now = kNow + minutes(110);
  Given(When(Reply(false, /*internal=*/true)));
  auto breached = DueBreaches(ticket_, kNow + hours(3));
  ASSERT_EQ(breached.size(), 1u);
  EXPECT_EQ(breached[0].sla_breached().target(), "first_response");
  Given(breached);
  EXPECT_TRUE(ToView(ticket_).first_response_breached());
  EXPECT_FALSE(ToView(ticket_).sla_breached());  // resolution still in time
  // Next: the resolution's at-risk time (80 % of 8 h).
  EXPECT_EQ(NextDeadline(ticket_), kNow + minutes(384));
}

TEST_F(SupportDomainTest, AnAgentsAnswerStopsTheFirstResponseClock) {
  policy_ = ClockPolicy();
  GivenTicket(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_HIGH);
  ctx_.now = kNow + minutes(30);
  Given(When(Reply(false)));
  EXPECT_EQ(ToView(ticket_).first_responded_at().seconds(), kNowSeconds + 1800);
  for (const auto& e : DueBreaches(ticket_, kNow + hours(3))) {
    EXPECT_FALSE(e.has_sla_breached() && e.sla_breached().target() == "first_response");
  }
  EXPECT_EQ(NextDeadline(ticket_), kNow + minutes(384));
  EXPECT_THAT(When(Reply(true, true)), IsError(kInvalid, "internal: a customer's message"));
}

TEST_F(SupportDomainTest, AnAssignmentWithAReplyAnswersTheCustomer) {
  policy_ = ClockPolicy();
  GivenTicket(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_HIGH);
  v1::AssignTicketRequest assign;
  assign.set_ticket_id(kTicket);
  assign.set_agent("piet");
  Given(When(assign));
  EXPECT_FALSE(ToView(ticket_).has_first_responded_at());  // an assignment alone answers nobody
  ctx_.now = kNow + minutes(20);
  assign.set_reply("Piet from our fibre team takes this over and calls you today.");
  auto events = When(assign);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].interaction_added().note(), assign.reply());
  Given(*events);
  EXPECT_EQ(FromProto(ToView(ticket_).first_responded_at()), kNow + minutes(20));
  assign.set_reply("bad\x1b");
  EXPECT_THAT(When(assign), IsError(kInvalid, "reply: "));
}

TEST_F(SupportDomainTest, WaitingOnTheCustomerStopsTheClocksUntilTheyAnswer) {
  policy_ = ClockPolicy();
  GivenTicket(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_HIGH);
  v1::ResumeTicketRequest resume;
  resume.set_ticket_id(kTicket);
  EXPECT_THAT(When(resume), IsError(kPrecondition, "is not waiting on the customer"));
  ctx_.now = kNow + hours(1);
  v1::SetTicketWaitingRequest wait;
  wait.set_ticket_id(kTicket);
  wait.set_reason("asked for a photo of the router lights");
  auto waiting = When(wait);
  ASSERT_OK(waiting);
  EXPECT_EQ((*waiting)[0].ticket_waiting().first_response_remaining_seconds(), 3600);
  EXPECT_EQ((*waiting)[0].ticket_waiting().resolution_remaining_seconds(), 7 * 3600);
  Given(*waiting);
  EXPECT_TRUE(ToView(ticket_).paused());
  EXPECT_THAT(When(wait), IsError(kPrecondition, "already waiting"));
  // Nothing warns or breaches while the customer has the ball.
  EXPECT_FALSE(NextDeadline(ticket_).has_value());
  EXPECT_TRUE(DueBreaches(ticket_, kNow + hours(48)).empty());
  // The customer answers two days later: the clocks run again from what
  // they had left.
  ctx_.now = kNow + hours(49);
  auto answered = When(Reply(true));
  ASSERT_OK(answered);
  ASSERT_EQ(answered->size(), 2u);
  const auto& resumed = (*answered)[1].ticket_resumed();
  EXPECT_TRUE(resumed.by_customer());
  EXPECT_EQ(FromProto(resumed.clocks().first_response_due_at()), kNow + hours(50));
  EXPECT_EQ(FromProto(resumed.clocks().resolution_due_at()), kNow + hours(56));
  Given(*answered);
  EXPECT_FALSE(ToView(ticket_).paused());
  EXPECT_EQ(ToView(ticket_).sla_due_at().seconds(), kNowSeconds + 56 * 3600);
  // An agent may end a wait too.
  Given(When(wait));
  ctx_.now = kNow + hours(60);
  auto by_agent = When(resume);
  ASSERT_OK(by_agent);
  EXPECT_FALSE((*by_agent)[0].ticket_resumed().by_customer());
}

// Monday 2025-10-13, Europe/Berlin (UTC+2): a local time as a TimePoint.
TimePoint BerlinMonday(int hour, int minute = 0) {
  return FromUnixMicros((1'760'306'400LL + hour * 3600 + minute * 60) * 1'000'000);
}

TEST_F(SupportDomainTest, BusinessHoursClocksSkipTheNightAndAPauseOverItMovesNothing) {
  policy_ = ClockPolicy();
  ctx_.now = BerlinMonday(16);
  GivenTicket(v1::TICKET_CATEGORY_FAULT, v1::TICKET_PRIORITY_NORMAL);
  // 2 h on Monday, 2 h on Tuesday morning.
  const TimePoint due = BerlinMonday(24 + 10);
  EXPECT_EQ(FromProto(ToView(ticket_).sla_due_at()), due);
  EXPECT_FALSE(ToView(ticket_).has_first_response_due_at());  // no such target
  // Waiting from 19:00 to 22:00, when the office is closed anyway.
  ctx_.now = BerlinMonday(19);
  v1::SetTicketWaitingRequest wait;
  wait.set_ticket_id(kTicket);
  wait.set_reason("asked for the serial number");
  Given(When(wait));
  ctx_.now = BerlinMonday(22);
  Given(When(Reply(true)));
  EXPECT_EQ(FromProto(ToView(ticket_).sla_due_at()), due);
}

TEST_F(SupportDomainTest, ReopeningRestartsResolutionWithWhatWasLeftWhenThePolicySaysSo) {
  policy_ = ClockPolicy();  // reopen: remaining
  GivenTicket(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_HIGH);
  ctx_.now = kNow + hours(3);
  Given(When(Resolve()));
  ctx_.now = kNow + hours(30);
  Given(When(Reopen()));
  EXPECT_EQ(FromProto(ToView(ticket_).sla_due_at()), kNow + hours(35));  // 5 h were left
  // The shipped default restarts the whole target.
  policy_ = SlaPolicy::Defaults();
  ctx_.now = kNow + hours(31);
  Given(When(Resolve()));
  ctx_.now = kNow + hours(40);
  Given(When(Reopen()));
  EXPECT_EQ(FromProto(ToView(ticket_).sla_due_at()), kNow + hours(48));  // high complaint: 8 h
}

TEST_F(SupportDomainTest, SlaBreachesOncePerDueTime) {
  GivenTicket();  // due now + 4h
  EXPECT_TRUE(DueBreaches(ticket_, kNow + hours(3)).empty());
  auto breaches = DueBreaches(ticket_, kNow + hours(5));
  ASSERT_EQ(breaches.size(), 1u);
  const auto& p = breaches[0].sla_breached();
  EXPECT_EQ(p.ticket_id(), kTicket);
  EXPECT_EQ(FromProto(p.due_at()), kNow + hours(4));
  EXPECT_EQ(p.tier(), v1::SUPPORT_TIER_L1);
  EXPECT_EQ(FromProto(breaches[0].occurred_at()), kNow + hours(4));  // when it happened
  Given(breaches);
  EXPECT_TRUE(ToView(ticket_).sla_breached());
  EXPECT_TRUE(DueBreaches(ticket_, kNow + hours(6)).empty());  // not twice

  // Escalation after a breach gives the new tier a fresh target, which can
  // breach again.
  ctx_.now = kNow + hours(6);
  Given(When(Escalate(v1::SUPPORT_TIER_SUPERVISOR)));
  EXPECT_FALSE(ToView(ticket_).sla_breached());
  EXPECT_TRUE(DueBreaches(ticket_, kNow + hours(9)).empty());
  auto again = DueBreaches(ticket_, kNow + hours(10));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].sla_breached().tier(), v1::SUPPORT_TIER_SUPERVISOR);
}

TEST_F(SupportDomainTest, ResolvedTicketsDoNotBreachButReopenedOnesCan) {
  GivenTicket();
  Given(When(Resolve()));
  EXPECT_TRUE(DueBreaches(ticket_, kNow + hours(100)).empty());
  ctx_.now = kNow + hours(100);
  Given(When(Reopen()));
  EXPECT_EQ(DueBreaches(ticket_, kNow + hours(105)).size(), 1u);
  EXPECT_TRUE(DueBreaches(TicketState{}, kNow + hours(105)).empty());
}

// ---- Missed calls and callbacks ----

TEST_F(SupportDomainTest, MissedCallFromUnknownNumberIsKeptWithAShortSla) {
  auto events = WhenMissedCall(MissedCall("+31 (0)6 1234-5678"));
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& e = (*events)[0];
  const auto& p = e.missed_call_recorded();
  EXPECT_EQ(p.callback_id(), kCallback);
  EXPECT_EQ(p.caller_number(), "+31612345678");
  EXPECT_EQ(p.customer_id(), "");
  EXPECT_EQ(FromProto(p.called_at()), kNow - minutes(10));
  EXPECT_EQ(FromProto(p.sla_due_at()), kNow - minutes(10) + hours(2));  // from the call
  EXPECT_EQ(FromProto(e.occurred_at()), kNow - minutes(10));
}

TEST_F(SupportDomainTest, MissedCallFromKnownNumberJoinsTheCustomer) {
  Evolve(directory_, Registered(kCustomer, {"+31612345678"}));
  auto events = WhenMissedCall(MissedCall("0031 6 12345678"));
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].missed_call_recorded().customer_id(), kCustomer);
  EXPECT_EQ((*events)[0].customer_id(), kCustomer);
}

// History imported from an old CRM keeps its real age and its real service
// level; only admin may record the past, and nobody the future.
TEST_F(SupportDomainTest, AdminImportsAWeekOldTicketWithItsRealAge) {
  auto old = Open(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_URGENT);
  *old.mutable_occurred_at() = domain::ToProto(kNow - hours(24 * 7));
  ctx_.actor.set_role("support");
  EXPECT_THAT(When(old), IsError(absl::StatusCode::kPermissionDenied,
                                 "occurred_at: is 168 hours ago; recording the past"));
  ctx_.actor.set_role("admin");
  auto events = When(old);
  ASSERT_OK(events);
  EXPECT_EQ(FromProto((*events)[0].occurred_at()), kNow - hours(24 * 7));
  EXPECT_EQ(FromProto((*events)[0].ticket_opened().sla_due_at()),
            kNow - hours(24 * 7) +
                policy_.TicketTarget(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_URGENT)
                    .resolution->within);
  auto future = Open();
  *future.mutable_occurred_at() = domain::ToProto(kNow + hours(1));
  EXPECT_THAT(When(future), IsError(kInvalid, "occurred_at: is in the future"));
  // A clock a minute ahead of the service's is now, for anyone.
  ctx_.actor.set_role("support");
  auto skewed = Open();
  *skewed.mutable_occurred_at() = domain::ToProto(kNow + minutes(1));
  EXPECT_OK(When(skewed));
  auto bad = Open();
  bad.mutable_occurred_at()->set_nanos(-1);
  EXPECT_THAT(When(bad), IsError(kInvalid, "occurred_at: "));
}

TEST_F(SupportDomainTest, AMissedCallReportedLateIsAcceptedAnOldOneIsHistory) {
  ctx_.actor.set_role("support");
  auto late = MissedCall("+31612345678");
  late.mutable_called_at()->set_seconds(kNowSeconds - 3 * 3600);
  EXPECT_OK(WhenMissedCall(late));
  auto old = MissedCall("+31612345678");
  old.mutable_called_at()->set_seconds(kNowSeconds - 3 * 24 * 3600);
  EXPECT_THAT(WhenMissedCall(old),
              IsError(absl::StatusCode::kPermissionDenied, "needs the admin role"));
  ctx_.actor.set_role("admin");
  auto events = WhenMissedCall(old);
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].occurred_at().seconds(), kNowSeconds - 3 * 24 * 3600);
}

TEST_F(SupportDomainTest, MissedCallWithoutTimeIsNow) {
  auto cmd = MissedCall("+31612345678");
  cmd.clear_called_at();
  auto events = WhenMissedCall(cmd);
  ASSERT_OK(events);
  EXPECT_EQ(FromProto((*events)[0].missed_call_recorded().called_at()), kNow);
  EXPECT_FALSE((*events)[0].has_occurred_at());
  // A missing lookup (no directory yet) just leaves the customer unknown.
  EXPECT_OK(Decide(callback_, cmd, ctx_, kCallback, nullptr, policy_));
}

TEST_F(SupportDomainTest, RecordMissedCallRejections) {
  EXPECT_THAT(WhenMissedCall(MissedCall("06 1234 5678")),
              IsError(kInvalid, "caller_number: '06 1234 5678' has no country code"));
  EXPECT_THAT(WhenMissedCall(MissedCall("anonymous")),
              IsError(kInvalid, "caller_number: 'anonymous' contains letters"));
  auto future = MissedCall("+31612345678");
  future.mutable_called_at()->set_seconds(kNowSeconds + 3600);
  EXPECT_THAT(WhenMissedCall(future), IsError(kInvalid, "called_at: is in the future"));
  auto bad_line = MissedCall("+31612345678");
  bad_line.set_line("support\x1b");
  EXPECT_THAT(WhenMissedCall(bad_line), IsError(kInvalid, "line: "));
  Given(WhenMissedCall(MissedCall("+31612345678")));
  EXPECT_THAT(WhenMissedCall(MissedCall("+31612345678")),
              IsError(absl::StatusCode::kAlreadyExists, "already exists"));
}

TEST_F(SupportDomainTest, ScheduleCallback) {
  auto events = Decide(callback_, Schedule(), ctx_, kCallback);
  ASSERT_OK(events);
  const auto& p = (*events)[0].callback_scheduled();
  EXPECT_EQ(p.phone_number(), "+31612345678");
  EXPECT_EQ(p.ticket_id(), kTicket);
  Given(*events);
  EXPECT_TRUE(callback_.open());
  EXPECT_EQ(callback_.customer_id, kCustomer);

  auto past = Schedule();
  past.mutable_due_at()->set_seconds(kNowSeconds - 1);
  EXPECT_THAT(Decide(CallbackState{}, past, ctx_, kCallback),
              IsError(kInvalid, "due_at: is in the past"));
  auto national = Schedule();
  national.set_phone_number("020 555 0100");
  EXPECT_THAT(Decide(CallbackState{}, national, ctx_, kCallback),
              IsError(kInvalid, "phone_number: "));
  auto bad_ticket = Schedule();
  bad_ticket.set_ticket_id("ticket-1");
  EXPECT_THAT(Decide(CallbackState{}, bad_ticket, ctx_, kCallback),
              IsError(kInvalid, "ticket_id: "));
  auto no_ticket = Schedule();
  no_ticket.clear_ticket_id();  // optional
  EXPECT_OK(Decide(CallbackState{}, no_ticket, ctx_, kCallback));
}

TEST_F(SupportDomainTest, CompleteCallback) {
  EXPECT_THAT(Decide(callback_, Complete(true, ""), ctx_),
              IsError(kNotFound, "callback not found"));
  Given(WhenMissedCall(MissedCall("+31612345678")));
  EXPECT_THAT(Decide(callback_, Complete(false, ""), ctx_), IsError(kInvalid, "note: is required"));
  auto events = Decide(callback_, Complete(false, "voicemail left, SMS sent"), ctx_);
  ASSERT_OK(events);
  EXPECT_FALSE((*events)[0].callback_completed().reached());
  Given(*events);
  EXPECT_FALSE(callback_.open());
  EXPECT_THAT(Decide(callback_, Complete(true, ""), ctx_),
              IsError(kPrecondition, "already completed"));
}

TEST_F(SupportDomainTest, CallbackSlaBreachesOnceAndNotAfterCompletion) {
  Given(WhenMissedCall(MissedCall("+31612345678")));  // due kNow - 10min + 2h
  EXPECT_TRUE(DueBreaches(callback_, kNow + hours(1)).empty());
  auto breaches = DueBreaches(callback_, kNow + hours(2));
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_EQ(breaches[0].sla_breached().callback_id(), kCallback);
  EXPECT_EQ(breaches[0].sla_breached().ticket_id(), "");
  Given(breaches);
  EXPECT_TRUE(DueBreaches(callback_, kNow + hours(3)).empty());

  CallbackState done;
  auto recorded = Decide(done, MissedCall("+31612345678"), ctx_, kCallback, nullptr, policy_);
  ASSERT_OK(recorded);
  Evolve(done, recorded->at(0));
  v1::EventEnvelope completed;
  completed.mutable_callback_completed()->set_callback_id(kCallback);
  completed.mutable_callback_completed()->set_reached(true);
  Evolve(done, completed);
  EXPECT_TRUE(DueBreaches(done, kNow + hours(3)).empty());
}

// ---- Directory ----

TEST_F(SupportDomainTest, RegisteringACustomerLinksTheirMissedCallsOnce) {
  customer_for_stamp_ = "";  // unknown caller: no customer on the envelope
  Given(WhenMissedCall(MissedCall("+31612345678")));
  ASSERT_EQ(directory_.pending_by_phone["+31612345678"].size(), 1u);

  // Sales registers the customer, typing the number differently.
  auto registered = Registered(kCustomer, {"+31 6 1234 5678", "+31 20 555 0199"});
  auto events = ReactToCustomerRegistered(directory_, registered, ctx_);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& e = (*events)[0];
  EXPECT_EQ(e.customer_id(), kCustomer);
  EXPECT_EQ(e.missed_call_linked().callback_id(), kCallback);
  EXPECT_EQ(e.missed_call_linked().caller_number(), "+31612345678");
  EXPECT_EQ(FromProto(e.missed_call_linked().called_at()), kNow - minutes(10));
  EXPECT_EQ(AggregateOf(e), std::make_pair(std::string(kCallbackAggregate), kCallback));

  Evolve(directory_, registered);
  Given(*events);
  EXPECT_EQ(callback_.customer_id, kCustomer);
  EXPECT_TRUE(directory_.pending_by_phone.empty());
  EXPECT_EQ(directory_.LookupPhone("+31612345678"), kCustomer);
  EXPECT_EQ(directory_.LookupEmail("anna@example.org"), kCustomer);

  // The same CustomerRegistered delivered again links nothing twice.
  auto again = ReactToCustomerRegistered(directory_, registered, ctx_);
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(SupportDomainTest, SharedNumbersAreNotAttributedToAnyone) {
  Evolve(directory_, Registered(kCustomer, {"+31201234567"}));
  Evolve(directory_, Registered(kOther, {"+31201234567"}));
  EXPECT_EQ(directory_.LookupPhone("+31201234567"), std::nullopt);
  auto events = WhenMissedCall(MissedCall("+31201234567"));
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].missed_call_recorded().customer_id(), "");
  // Re-registering the same customer does not make a number shared.
  Evolve(directory_, Registered(kCustomer, {"+31612345678"}));
  Evolve(directory_, Registered(kCustomer, {"+31612345678"}));
  EXPECT_EQ(directory_.LookupPhone("+31612345678"), kCustomer);
}

TEST_F(SupportDomainTest, ReactToCustomerRegisteredRejectsOtherEvents) {
  v1::EventEnvelope other;
  other.mutable_order_placed()->set_order_id("x");
  EXPECT_THAT(ReactToCustomerRegistered(directory_, other, ctx_),
              IsError(kInvalid, "pass CustomerRegistered"));
  auto nobody = Registered("", {"+31612345678"});
  EXPECT_THAT(ReactToCustomerRegistered(directory_, nobody, ctx_),
              IsError(kInvalid, "has no customer_id"));
}

TEST_F(SupportDomainTest, AggregateOfNamesTicketsAndCallbacks) {
  auto opened = When(Open());
  ASSERT_OK(opened);
  EXPECT_EQ(AggregateOf((*opened)[0]), std::make_pair(std::string(kTicketAggregate), kTicket));
  v1::EventEnvelope breach;
  breach.mutable_sla_breached()->set_callback_id(kCallback);
  EXPECT_EQ(AggregateOf(breach).first, kCallbackAggregate);
  EXPECT_EQ(AggregateOf(v1::EventEnvelope{}).first, "");
}

}  // namespace
}  // namespace threadline::support
