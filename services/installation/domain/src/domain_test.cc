#include "threadline/installation/domain.h"

#include <gmock/gmock.h>

#include "threadline/domain/test_context.h"
#include "threadline/testing/testing.h"

namespace threadline::installation {
namespace {

using domain::TestId;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1'760'000'000;  // 2025-10-09T08:53:20Z
constexpr int64_t kHour = 3600;

google::protobuf::Timestamp Ts(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}
v1::TimeWindow Window(int64_t start, int64_t end) {
  v1::TimeWindow w;
  *w.mutable_start() = Ts(start);
  *w.mutable_end() = Ts(end);
  return w;
}

MATCHER_P2(IsError, code, text, "") {
  const absl::Status& s = ::threadline::testing::AsStatus(arg);
  *result_listener << "status: " << s;
  return s.code() == code && s.message().find(text) != absl::string_view::npos;
}

const std::string kCustomer = TestId("cus", 900);
const std::string kOrder = TestId("ord", 100);
const std::string kLine = TestId("itm", 101);
const std::string kBroadband = TestId("itm", 102);
const std::string kRouter = TestId("itm", 103);
const std::string kFullInstall = TestId("cmt", 104);
const std::string kWelcomeCall = TestId("cmt", 105);
const std::string kEarlyDate = TestId("cmt", 106);

// The order from the design's first story: a line and broadband set-up that
// both need the installer, a router that is shipped, and promises.
v1::EventEnvelope OrderPlaced() {
  v1::EventEnvelope e;
  e.set_event_id("evt-order-placed");
  e.set_customer_id(kCustomer);
  auto* p = e.mutable_order_placed();
  p->set_order_id(kOrder);
  auto add_item = [&](const std::string& id, const char* sku, const char* text, bool install) {
    auto* item = p->add_items();
    item->set_item_id(id);
    item->set_sku(sku);
    item->set_description(text);
    item->set_needs_installation(install);
  };
  add_item(kLine, "LINE-FTTH", "Fibre line", true);
  add_item(kBroadband, "BB-1000", "Broadband set-up", true);
  add_item(kRouter, "RTR-6", "Router", false);
  auto add_commitment = [&](const std::string& id, const char* text, v1::Department owner) {
    auto* c = p->add_commitments();
    c->set_commitment_id(id);
    c->set_text(text);
    c->set_owner(owner);
    *c->mutable_due_by() = Ts(kNow + 7 * 24 * kHour);
  };
  add_commitment(kFullInstall, "full installation including broadband set-up",
                 v1::DEPARTMENT_INSTALLATION);
  add_commitment(kWelcomeCall, "welcome call after installation", v1::DEPARTMENT_SALES);
  add_commitment(kEarlyDate, "installation within a week", v1::DEPARTMENT_INSTALLATION);
  *p->mutable_requested_installation() = Window(kNow + 2 * 24 * kHour, kNow + 5 * 24 * kHour);
  return e;
}

v1::EventEnvelope OrderCancelled() {
  v1::EventEnvelope e;
  e.set_customer_id(kCustomer);
  e.mutable_order_cancelled()->set_order_id(kOrder);
  e.mutable_order_cancelled()->set_reason("customer changed their mind");
  return e;
}

// Given/When/Then over one work order and the order index.
class InstallationDomainTest : public ::testing::Test {
 protected:
  InstallationDomainTest() : ctx_(domain::TestContext(FromUnixMicros(kNow * 1'000'000))) {}

  // Events as the service would store them: with customer and version.
  void Given(const domain::Events& events) {
    for (auto e : events) {
      if (e.customer_id().empty()) e.set_customer_id(kCustomer);
      e.set_version(++version_);
      Evolve(state_, e);
      Evolve(index_, e);
    }
  }
  template <typename Cmd>
  absl::StatusOr<domain::Events> When(Cmd cmd) {
    if (cmd.work_order_id().empty()) cmd.set_work_order_id(state_.work_order_id);
    return Decide(state_, cmd, ctx_);
  }
  template <typename Cmd>
  void GivenDecided(const Cmd& cmd) {
    auto events = When(cmd);
    ASSERT_OK(events);
    Given(*events);
  }

  void GivenWorkOrder() {
    auto events = ReactToOrderPlaced(index_, OrderPlaced(), ctx_);
    ASSERT_OK(events);
    ASSERT_EQ(events->size(), 1u);
    Given(*events);
  }
  static v1::ProposeAppointmentRequest Propose(int64_t start_offset = 3 * 24 * kHour) {
    v1::ProposeAppointmentRequest r;
    r.set_channel(v1::CHANNEL_SMS);
    *r.mutable_slot() = Window(kNow + start_offset, kNow + start_offset + 4 * kHour);
    return r;
  }
  std::string GivenProposed(int64_t start_offset = 3 * 24 * kHour) {
    auto events = When(Propose(start_offset));
    EXPECT_OK(events);
    if (!events.ok()) return "";
    Given(*events);
    return (*events)[0].appointment_proposed().appointment_id();
  }
  static v1::ConfirmAppointmentRequest Confirm(const std::string& appointment_id) {
    v1::ConfirmAppointmentRequest r;
    r.set_channel(v1::CHANNEL_SMS);
    r.set_appointment_id(appointment_id);
    return r;
  }
  static v1::DeclineAppointmentRequest Decline(const std::string& appointment_id) {
    v1::DeclineAppointmentRequest r;
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_appointment_id(appointment_id);
    r.set_reason("works that day");
    return r;
  }
  static v1::CompleteInstallationRequest Report(std::vector<std::string> delivered,
                                                std::vector<std::string> not_delivered) {
    v1::CompleteInstallationRequest r;
    r.set_channel(v1::CHANNEL_FIELD);
    for (const auto& id : delivered) r.add_delivered()->set_item_id(id);
    for (const auto& id : not_delivered) {
      auto* nd = r.add_not_delivered();
      nd->set_item_id(id);
      nd->set_reason("broadband set-up is not part of the line installation job");
    }
    return r;
  }

  domain::CommandContext ctx_;
  WorkOrderState state_;
  OrderIndex index_;
  uint64_t version_ = 0;
};

// ---- Reactions ----

TEST_F(InstallationDomainTest, OrderNeedingInstallationCreatesWorkOrderWithPromisedScope) {
  auto events = ReactToOrderPlaced(index_, OrderPlaced(), ctx_);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& e = (*events)[0];
  EXPECT_EQ(e.customer_id(), kCustomer);
  const auto& p = e.work_order_created();
  EXPECT_EQ(p.work_order_id(), TestId("wo", 1));
  EXPECT_EQ(p.order_id(), kOrder);
  ASSERT_EQ(p.scope_size(), 2);  // the router is shipped, not installed
  EXPECT_EQ(p.scope(0).item_id(), kLine);
  EXPECT_EQ(p.scope(1).item_id(), kBroadband);
  EXPECT_EQ(p.scope(1).description(), "Broadband set-up");
  ASSERT_EQ(p.commitments_size(), 2);  // only installation's promises
  EXPECT_EQ(p.commitments(0).commitment_id(), kFullInstall);
  EXPECT_EQ(p.commitments(1).commitment_id(), kEarlyDate);
  EXPECT_EQ(p.requested_window().start().seconds(), kNow + 2 * 24 * kHour);

  Given(*events);
  v1::WorkOrder view = ToView(state_);
  EXPECT_EQ(view.status(), v1::WORK_ORDER_STATUS_OPEN);
  EXPECT_EQ(view.customer_id(), kCustomer);
  EXPECT_EQ(view.scope_size(), 2);
  EXPECT_EQ(view.version(), 1u);
  EXPECT_FALSE(view.has_appointment());
}

TEST_F(InstallationDomainTest, OrderWithoutInstallationCreatesNothing) {
  auto order = OrderPlaced();
  for (auto& item : *order.mutable_order_placed()->mutable_items()) {
    item.set_needs_installation(false);
  }
  auto events = ReactToOrderPlaced(index_, order, ctx_);
  ASSERT_OK(events);
  EXPECT_TRUE(events->empty());
}

TEST_F(InstallationDomainTest, SameOrderPlacedTwiceCreatesOneWorkOrder) {
  GivenWorkOrder();
  auto again = ReactToOrderPlaced(index_, OrderPlaced(), ctx_);
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
  // Replaying the stored WorkOrderCreated into the index does not duplicate it.
  v1::EventEnvelope created;
  created.set_customer_id(kCustomer);
  created.mutable_work_order_created()->set_work_order_id(state_.work_order_id);
  created.mutable_work_order_created()->set_order_id(kOrder);
  Evolve(index_, created);
  EXPECT_EQ(index_.by_order[kOrder].size(), 1u);
}

TEST_F(InstallationDomainTest, ReactionsRejectWrongEventsAndUnroutableOnes) {
  EXPECT_THAT(ReactToOrderPlaced(index_, OrderCancelled(), ctx_),
              IsError(absl::StatusCode::kInvalidArgument, "pass OrderPlaced"));
  auto no_customer = OrderPlaced();
  no_customer.clear_customer_id();
  EXPECT_THAT(ReactToOrderPlaced(index_, no_customer, ctx_),
              IsError(absl::StatusCode::kInvalidArgument, "no customer_id"));
  EXPECT_THAT(ReactToOrderCancelled(index_, OrderPlaced(), ctx_),
              IsError(absl::StatusCode::kInvalidArgument, "pass OrderCancelled"));
}

TEST_F(InstallationDomainTest, OrderCancelledCancelsOpenWorkOrdersOnce) {
  GivenWorkOrder();
  auto events = ReactToOrderCancelled(index_, OrderCancelled(), ctx_);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& p = (*events)[0].work_order_cancelled();
  EXPECT_EQ(p.work_order_id(), state_.work_order_id);
  EXPECT_EQ(p.order_id(), kOrder);
  EXPECT_EQ(p.reason(), "order cancelled: customer changed their mind");
  EXPECT_EQ((*events)[0].customer_id(), kCustomer);
  Given(*events);
  EXPECT_EQ(ToView(state_).status(), v1::WORK_ORDER_STATUS_CANCELLED);

  auto again = ReactToOrderCancelled(index_, OrderCancelled(), ctx_);
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(InstallationDomainTest, OrderCancelledLeavesCompletedWorkOrdersAndUnknownOrdersAlone) {
  auto unknown = ReactToOrderCancelled(index_, OrderCancelled(), ctx_);
  ASSERT_OK(unknown);
  EXPECT_TRUE(unknown->empty());

  GivenWorkOrder();
  GivenDecided(Report({kLine, kBroadband}, {}));
  auto events = ReactToOrderCancelled(index_, OrderCancelled(), ctx_);
  ASSERT_OK(events);
  EXPECT_TRUE(events->empty());
}

TEST_F(InstallationDomainTest, WorkOrderIdOfNamesTheAggregate) {
  GivenWorkOrder();
  auto events = When(Propose());
  ASSERT_OK(events);
  EXPECT_EQ(WorkOrderIdOf((*events)[0]), state_.work_order_id);
  EXPECT_EQ(WorkOrderIdOf(OrderPlaced()), "");
}

// ---- ProposeAppointment ----

TEST_F(InstallationDomainTest, ProposeAppointmentIsNotBindingUntilConfirmed) {
  GivenWorkOrder();
  auto events = When(Propose());
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const auto& p = (*events)[0].appointment_proposed();
  EXPECT_EQ(p.work_order_id(), state_.work_order_id);
  EXPECT_THAT(p.appointment_id(), HasSubstr("apt_"));
  EXPECT_EQ(p.asked_via(), v1::CHANNEL_SMS);
  EXPECT_EQ(p.slot().start().seconds(), kNow + 3 * 24 * kHour);
  EXPECT_FALSE((*events)[0].has_occurred_at());  // the service stamps "now"

  Given(*events);
  v1::WorkOrder view = ToView(state_);
  EXPECT_EQ(view.status(), v1::WORK_ORDER_STATUS_OPEN);
  EXPECT_FALSE(view.appointment().confirmed());
  EXPECT_EQ(view.appointment().asked_via(), v1::CHANNEL_SMS);
}

TEST_F(InstallationDomainTest, ProposeAppointmentValidatesInput) {
  GivenWorkOrder();
  auto bad_id = Propose();
  bad_id.set_work_order_id("ord_123");
  EXPECT_THAT(When(bad_id), IsError(absl::StatusCode::kInvalidArgument, "work_order_id: "));
  auto no_slot = Propose();
  no_slot.clear_slot();
  EXPECT_THAT(When(no_slot), IsError(absl::StatusCode::kInvalidArgument, "slot: needs both"));
  auto backwards = Propose();
  std::swap(*backwards.mutable_slot()->mutable_start(), *backwards.mutable_slot()->mutable_end());
  EXPECT_THAT(When(backwards),
              IsError(absl::StatusCode::kInvalidArgument, "start must be before end"));
  EXPECT_THAT(When(Propose(-kHour)),
              IsError(absl::StatusCode::kInvalidArgument, "slot: starts in the past"));
}

TEST_F(InstallationDomainTest, ProposeAppointmentForUnknownWorkOrderIsNotFound) {
  auto cmd = Propose();
  cmd.set_work_order_id(TestId("wo", 77));
  EXPECT_THAT(When(cmd), IsError(absl::StatusCode::kNotFound, "work order not found"));
}

TEST_F(InstallationDomainTest, ProposingAgainReplacesAnUnconfirmedProposal) {
  GivenWorkOrder();
  std::string first = GivenProposed();
  std::string second = GivenProposed(4 * 24 * kHour);
  EXPECT_NE(first, second);
  EXPECT_EQ(ToView(state_).appointment().appointment_id(), second);
  // The replaced proposal can no longer be confirmed.
  EXPECT_THAT(When(Confirm(first)),
              IsError(absl::StatusCode::kFailedPrecondition, "is not the current proposal"));
  ASSERT_OK(When(Confirm(second)));
}

TEST_F(InstallationDomainTest, ConfirmedAppointmentIsNotMovedWithoutTheCustomer) {
  GivenWorkOrder();
  std::string apt = GivenProposed();
  GivenDecided(Confirm(apt));
  EXPECT_THAT(When(Propose(5 * 24 * kHour)),
              IsError(absl::StatusCode::kFailedPrecondition, "DeclineAppointment"));
  // Once the customer withdraws, a new slot can be proposed.
  GivenDecided(Decline(apt));
  EXPECT_EQ(ToView(state_).status(), v1::WORK_ORDER_STATUS_OPEN);
  ASSERT_OK(When(Propose(5 * 24 * kHour)));
}

// ---- Confirm / Decline ----

TEST_F(InstallationDomainTest, ConfirmMakesTheAppointmentBinding) {
  GivenWorkOrder();
  std::string apt = GivenProposed();
  auto events = When(Confirm(apt));
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].appointment_confirmed().appointment_id(), apt);
  EXPECT_EQ((*events)[0].appointment_confirmed().answered_via(), v1::CHANNEL_SMS);
  Given(*events);
  v1::WorkOrder view = ToView(state_);
  EXPECT_EQ(view.status(), v1::WORK_ORDER_STATUS_SCHEDULED);
  EXPECT_TRUE(view.appointment().confirmed());
}

TEST_F(InstallationDomainTest, ConfirmRejections) {
  GivenWorkOrder();
  EXPECT_THAT(When(Confirm(TestId("apt", 5))),
              IsError(absl::StatusCode::kFailedPrecondition, "no appointment has been proposed"));
  EXPECT_THAT(When(Confirm("")), IsError(absl::StatusCode::kInvalidArgument, "appointment_id: "));
  std::string apt = GivenProposed();
  EXPECT_THAT(When(Confirm(TestId("apt", 99))),
              IsError(absl::StatusCode::kFailedPrecondition, "is not the current proposal"));
  GivenDecided(Confirm(apt));
  EXPECT_THAT(When(Confirm(apt)), IsError(absl::StatusCode::kFailedPrecondition, "already"));
}

TEST_F(InstallationDomainTest, DeclinedProposalCannotBeConfirmed) {
  GivenWorkOrder();
  EXPECT_THAT(When(Decline(TestId("apt", 5))),
              IsError(absl::StatusCode::kFailedPrecondition, "no appointment has been proposed"));
  std::string apt = GivenProposed();
  EXPECT_THAT(When(Decline(TestId("apt", 99))),
              IsError(absl::StatusCode::kFailedPrecondition, "is not the current proposal"));
  auto events = When(Decline(apt));
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].appointment_declined().reason(), "works that day");
  Given(*events);
  EXPECT_TRUE(ToView(state_).appointment().declined());
  EXPECT_THAT(When(Confirm(apt)),
              IsError(absl::StatusCode::kFailedPrecondition, "already declined"));
  EXPECT_THAT(When(Decline(apt)),
              IsError(absl::StatusCode::kFailedPrecondition, "already declined"));
}

TEST_F(InstallationDomainTest, ConfirmingASlotThatHasPassedIsRejected) {
  GivenWorkOrder();
  std::string apt = GivenProposed(kHour);
  ctx_.now += std::chrono::hours(2);
  EXPECT_THAT(When(Confirm(apt)),
              IsError(absl::StatusCode::kFailedPrecondition, "already started or passed"));
}

// ---- AssignTechnician ----

TEST_F(InstallationDomainTest, AssignTechnician) {
  GivenWorkOrder();
  v1::AssignTechnicianRequest cmd;
  cmd.set_technician_id("tech-17");
  cmd.set_technician_name("Sam Jansen");
  auto events = When(cmd);
  ASSERT_OK(events);
  Given(*events);
  EXPECT_EQ(ToView(state_).technician_name(), "Sam Jansen");

  cmd.clear_technician_name();
  EXPECT_THAT(When(cmd), IsError(absl::StatusCode::kInvalidArgument, "technician_name: "));
}

// ---- CompleteInstallation ----

TEST_F(InstallationDomainTest, FullDeliveryKeepsUnreportedCommitments) {
  GivenWorkOrder();
  auto events = When(Report({kLine, kBroadband}, {}));
  ASSERT_OK(events);
  const auto& p = (*events)[0].installation_completed();
  EXPECT_EQ(p.outcome(), v1::COMPLETION_OUTCOME_FULL);
  EXPECT_EQ(p.order_id(), kOrder);
  ASSERT_EQ(p.commitments_size(), 2);
  EXPECT_TRUE(p.commitments(0).kept());
  EXPECT_TRUE(p.commitments(1).kept());
  Given(*events);
  v1::WorkOrder view = ToView(state_);
  EXPECT_EQ(view.status(), v1::WORK_ORDER_STATUS_COMPLETED);
  EXPECT_EQ(view.outcome(), v1::COMPLETION_OUTCOME_FULL);
  EXPECT_EQ(view.delivered_size(), 2);
}

TEST_F(InstallationDomainTest, PartialDeliveryBreaksUnreportedCommitmentsWithTheMissingItems) {
  GivenWorkOrder();
  auto cmd = Report({kLine}, {kBroadband});
  auto* reported = cmd.add_commitments();
  reported->set_commitment_id(kEarlyDate);
  reported->set_kept(true);  // the visit was within the week
  auto events = When(cmd);
  ASSERT_OK(events);
  const auto& p = (*events)[0].installation_completed();
  EXPECT_EQ(p.outcome(), v1::COMPLETION_OUTCOME_PARTIAL);
  ASSERT_EQ(p.not_delivered_size(), 1);
  EXPECT_EQ(p.not_delivered(0).item_id(), kBroadband);
  ASSERT_EQ(p.commitments_size(), 2);
  EXPECT_EQ(p.commitments(0).commitment_id(), kFullInstall);
  EXPECT_FALSE(p.commitments(0).kept());
  EXPECT_EQ(p.commitments(0).reason(), "not delivered: Broadband set-up");
  EXPECT_EQ(p.commitments(1).commitment_id(), kEarlyDate);
  EXPECT_TRUE(p.commitments(1).kept());
  Given(*events);
  v1::WorkOrder view = ToView(state_);
  EXPECT_EQ(view.status(), v1::WORK_ORDER_STATUS_PARTIALLY_COMPLETED);
  EXPECT_EQ(view.outcome(), v1::COMPLETION_OUTCOME_PARTIAL);
  EXPECT_EQ(view.commitment_outcomes_size(), 2);
}

TEST_F(InstallationDomainTest, NothingDeliveredIsOutcomeNone) {
  GivenWorkOrder();
  auto cmd = Report({}, {kLine, kBroadband});
  auto* broken = cmd.add_commitments();
  broken->set_commitment_id(kFullInstall);
  broken->set_reason("customer not at home");
  auto events = When(cmd);
  ASSERT_OK(events);
  const auto& p = (*events)[0].installation_completed();
  EXPECT_EQ(p.outcome(), v1::COMPLETION_OUTCOME_NONE);
  EXPECT_EQ(p.commitments(0).reason(), "customer not at home");
  EXPECT_EQ(p.commitments(1).reason(), "not delivered: Fibre line, Broadband set-up");
}

TEST_F(InstallationDomainTest, CompletionMustReportEveryScopeItemExactlyOnce) {
  GivenWorkOrder();
  EXPECT_THAT(When(Report({kLine}, {})),
              IsError(absl::StatusCode::kInvalidArgument,
                      "scope item " + kBroadband + " (Broadband set-up) is not reported"));
  EXPECT_THAT(When(Report({kLine, kBroadband, kRouter}, {})),
              IsError(absl::StatusCode::kInvalidArgument,
                      "delivered[2].item_id: item " + kRouter + " is not in the scope"));
  EXPECT_THAT(
      When(Report({kLine, kBroadband}, {kBroadband})),
      IsError(absl::StatusCode::kInvalidArgument, "not_delivered[0].item_id: item " + kBroadband +
                                                      " is already reported in delivered[1]"));
  EXPECT_THAT(When(Report({kLine, kLine}, {})),
              IsError(absl::StatusCode::kInvalidArgument, "already reported"));
  EXPECT_THAT(When(Report({"broadband"}, {})),
              IsError(absl::StatusCode::kInvalidArgument, "delivered[0].item_id: "));
}

TEST_F(InstallationDomainTest, NotDeliveredNeedsAReason) {
  GivenWorkOrder();
  auto cmd = Report({kLine}, {kBroadband});
  cmd.mutable_not_delivered(0)->clear_reason();
  EXPECT_THAT(When(cmd),
              IsError(absl::StatusCode::kInvalidArgument, "not_delivered[0].reason: is required"));
}

TEST_F(InstallationDomainTest, CommitmentReportsAreChecked) {
  GivenWorkOrder();
  auto broken_without_reason = Report({kLine, kBroadband}, {});
  broken_without_reason.add_commitments()->set_commitment_id(kFullInstall);
  EXPECT_THAT(When(broken_without_reason),
              IsError(absl::StatusCode::kInvalidArgument, "commitments[0].reason: is required"));

  auto unknown = Report({kLine, kBroadband}, {});
  unknown.add_commitments()->set_commitment_id(kWelcomeCall);  // owned by sales
  unknown.mutable_commitments(0)->set_kept(true);
  EXPECT_THAT(When(unknown),
              IsError(absl::StatusCode::kInvalidArgument, "is not a commitment of work order"));

  auto twice = Report({kLine, kBroadband}, {});
  for (int i = 0; i < 2; ++i) {
    auto* c = twice.add_commitments();
    c->set_commitment_id(kFullInstall);
    c->set_kept(true);
  }
  EXPECT_THAT(When(twice), IsError(absl::StatusCode::kInvalidArgument, "reported twice"));
}

TEST_F(InstallationDomainTest, ClosedWorkOrdersRejectEveryCommand) {
  GivenWorkOrder();
  std::string apt = GivenProposed();
  GivenDecided(Report({kLine}, {kBroadband}));
  auto closed = absl::StatusCode::kFailedPrecondition;
  EXPECT_THAT(When(Propose()), IsError(closed, "is PARTIALLY_COMPLETED"));
  EXPECT_THAT(When(Confirm(apt)), IsError(closed, "accepts no further changes"));
  EXPECT_THAT(When(Decline(apt)), IsError(closed, "accepts no further changes"));
  v1::AssignTechnicianRequest assign;
  assign.set_technician_id("tech-1");
  assign.set_technician_name("Sam");
  EXPECT_THAT(When(assign), IsError(closed, "accepts no further changes"));
  EXPECT_THAT(When(Report({kLine, kBroadband}, {})), IsError(closed, "accepts no further changes"));
}

TEST_F(InstallationDomainTest, CancelledWorkOrdersRejectEveryCommand) {
  GivenWorkOrder();
  auto cancelled = ReactToOrderCancelled(index_, OrderCancelled(), ctx_);
  ASSERT_OK(cancelled);
  Given(*cancelled);
  EXPECT_THAT(When(Propose()), IsError(absl::StatusCode::kFailedPrecondition, "is cancelled"));
  EXPECT_THAT(When(Report({kLine, kBroadband}, {})),
              IsError(absl::StatusCode::kFailedPrecondition, "is cancelled"));
}

}  // namespace
}  // namespace threadline::installation
