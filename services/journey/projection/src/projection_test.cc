#include "threadline/journey/projection.h"

#include <gmock/gmock.h>

#include "threadline/domain/domain.h"
#include "threadline/testing/testing.h"

namespace threadline::journey {
namespace {

using ::testing::HasSubstr;

const TimePoint kNow = FromUnixMicros(1'760'000'000'000'000);

v1::EventEnvelope At(int64_t seconds_from_now, v1::Channel channel = v1::CHANNEL_PHONE) {
  v1::EventEnvelope e;
  static int n = 0;
  e.set_event_id("evt-" + std::to_string(++n));
  e.set_customer_id("cus_1");
  *e.mutable_occurred_at() = domain::ToProto(kNow + std::chrono::seconds(seconds_from_now));
  *e.mutable_recorded_at() = e.occurred_at();
  e.set_channel(channel);
  return e;
}

TEST(DecodeEventTest, SaysWhyAMessageCannotBeProjected) {
  v1::EventEnvelope out;
  EXPECT_EQ(DecodeEvent("\xff\xfe not an envelope", out), "not an EventEnvelope");
  auto e = At(0);
  e.mutable_contact_logged()->set_outcome("reached");
  e.set_schema_version(1);
  EXPECT_EQ(DecodeEvent(e.SerializeAsString(), out), "");
  EXPECT_EQ(out.event_id(), e.event_id());
  auto no_id = e;
  no_id.clear_event_id();
  EXPECT_EQ(DecodeEvent(no_id.SerializeAsString(), out), "envelope without event_id");
  auto newer = e;
  newer.set_schema_version(kMaxSchemaVersion + 1);
  EXPECT_THAT(DecodeEvent(newer.SerializeAsString(), out), HasSubstr("is newer than"));
  auto empty = e;
  empty.clear_payload();
  EXPECT_EQ(DecodeEvent(empty.SerializeAsString(), out),
            "envelope with an unknown or empty payload");
}

class CardTest : public ::testing::Test {
 protected:
  void Apply(const v1::EventEnvelope& e) { ApplyToCard(e, card_); }
  bool HasFlag(const std::string& code) {
    for (const auto& g : card_.guidance()) {
      if (g.code() == code) return true;
    }
    return false;
  }
  v1::CustomerContext card_;
};

TEST_F(CardTest, RegistrationFillsIdentity) {
  auto e = At(0);
  auto* p = e.mutable_customer_registered();
  p->set_name("Anna");
  p->add_phone_numbers("+31612345678");
  Apply(e);
  EXPECT_EQ(card_.name(), "Anna");
  EXPECT_EQ(card_.phone_numbers(0), "+31612345678");
  auto entry = ToEntry(e);
  EXPECT_EQ(entry.kind(), "CustomerRegistered");
  EXPECT_THAT(entry.summary(), HasSubstr("Anna"));
}

TEST_F(CardTest, CommitmentStatesFollowTheOwnerDepartment) {
  auto order = At(0);
  auto* o = order.mutable_order_placed();
  o->set_order_id("ord_1");
  auto* c = o->add_commitments();
  c->set_commitment_id("cmt_1");
  c->set_text("full installation including broadband configuration");
  c->set_owner(v1::DEPARTMENT_INSTALLATION);
  *c->mutable_due_by() = domain::ToProto(kNow + std::chrono::hours(24 * 7));
  Apply(order);
  RefreshDerived(card_, kNow);
  EXPECT_EQ(card_.commitments(0).state(), v1::COMMITMENT_STATE_OPEN);
  // Due within two days and not delivered: at risk.
  RefreshDerived(card_, kNow + std::chrono::hours(24 * 6));
  EXPECT_EQ(card_.commitments(0).state(), v1::COMMITMENT_STATE_AT_RISK);
  EXPECT_TRUE(HasFlag("COMMITMENT_AT_RISK"));

  auto done = At(60, v1::CHANNEL_FIELD);
  auto* d = done.mutable_installation_completed();
  d->set_work_order_id("wo_1");
  d->set_outcome(v1::COMPLETION_OUTCOME_PARTIAL);
  auto* outcome = d->add_commitments();
  outcome->set_commitment_id("cmt_1");
  outcome->set_kept(false);
  outcome->set_reason("only the line was connected");
  Apply(done);
  RefreshDerived(card_, kNow);
  EXPECT_EQ(card_.commitments(0).state(), v1::COMMITMENT_STATE_BROKEN);
  EXPECT_EQ(card_.commitments(0).reason(), "only the line was connected");
  EXPECT_TRUE(HasFlag("COMMITMENT_BROKEN"));
}

// A held charge shows what it costs, once and monthly; a one-off line of an
// order (the installation itself) is not a product the customer has.
TEST_F(CardTest, HeldOneOffChargeShowsItsPriceAndOneOffLinesAreNoProducts) {
  auto order = At(0, v1::CHANNEL_SHOP);
  auto* o = order.mutable_order_placed();
  o->set_order_id("ord_1");
  auto* line = o->add_items();
  line->set_sku("FIBRE-LINE");
  line->mutable_monthly_price()->set_amount_minor(1500);
  line->mutable_monthly_price()->set_currency("EUR");
  auto* install = o->add_items();
  install->set_sku("INSTALL");
  install->mutable_one_off_price()->set_amount_minor(9900);
  install->mutable_one_off_price()->set_currency("EUR");
  Apply(order);
  ASSERT_EQ(card_.products_size(), 1);
  EXPECT_EQ(card_.products(0).sku(), "FIBRE-LINE");

  auto charge = At(1, v1::CHANNEL_SYSTEM);
  auto* ch = charge.mutable_charge_scheduled();
  ch->set_charge_id("chg_1");
  ch->set_status(v1::CHARGE_STATUS_HELD);
  ch->set_hold_reason("awaiting installation");
  *ch->mutable_one_off() = install->one_off_price();
  Apply(charge);
  ASSERT_EQ(card_.billing().held_charges_size(), 1);
  const auto& held = card_.billing().held_charges(0);
  EXPECT_EQ(held.one_off().amount_minor(), 9900);
  EXPECT_EQ(held.one_off().currency(), "EUR");
  EXPECT_FALSE(held.has_monthly());
}

// The card shows both clocks of a ticket as support decided them: paused
// while waiting on the customer, at risk when warned, breached when due.
TEST_F(CardTest, TicketClocksShowDueTimesPausesAndWarnings) {
  auto t = At(0);
  auto* p = t.mutable_ticket_opened();
  p->set_ticket_id("tkt_1");
  p->set_category(v1::TICKET_CATEGORY_COMPLAINT);
  *p->mutable_sla_due_at() = domain::ToProto(kNow + std::chrono::hours(8));
  *p->mutable_clocks()->mutable_first_response_due_at() =
      domain::ToProto(kNow + std::chrono::hours(2));
  *p->mutable_clocks()->mutable_resolution_due_at() = p->sla_due_at();
  Apply(t);
  ASSERT_EQ(card_.open_tickets_size(), 1);
  const auto& view = card_.open_tickets(0);
  EXPECT_EQ(domain::FromProto(view.first_response_due_at()), kNow + std::chrono::hours(2));
  EXPECT_EQ(domain::FromProto(view.resolution_due_at()), kNow + std::chrono::hours(8));

  auto warned = At(1);
  warned.mutable_sla_at_risk()->set_ticket_id("tkt_1");
  warned.mutable_sla_at_risk()->set_target("first_response");
  Apply(warned);
  EXPECT_TRUE(view.at_risk());
  auto internal = At(2);
  internal.mutable_interaction_added()->set_ticket_id("tkt_1");
  internal.mutable_interaction_added()->set_internal(true);
  Apply(internal);
  EXPECT_TRUE(view.has_first_response_due_at());  // a note for colleagues answers nobody
  auto answer = At(3);
  answer.mutable_interaction_added()->set_ticket_id("tkt_1");
  Apply(answer);
  EXPECT_FALSE(view.has_first_response_due_at());
  EXPECT_FALSE(view.at_risk());

  auto wait = At(4);
  wait.mutable_ticket_waiting()->set_ticket_id("tkt_1");
  Apply(wait);
  EXPECT_TRUE(view.paused());
  auto resumed = At(5);
  resumed.mutable_ticket_resumed()->set_ticket_id("tkt_1");
  *resumed.mutable_ticket_resumed()->mutable_clocks()->mutable_resolution_due_at() =
      domain::ToProto(kNow + std::chrono::hours(30));
  Apply(resumed);
  EXPECT_FALSE(view.paused());
  EXPECT_EQ(domain::FromProto(view.sla_due_at()), kNow + std::chrono::hours(30));
  EXPECT_EQ(domain::FromProto(view.resolution_due_at()), kNow + std::chrono::hours(30));
  auto breached = At(6);
  breached.mutable_sla_breached()->set_ticket_id("tkt_1");
  breached.mutable_sla_breached()->set_target("resolution");
  Apply(breached);
  EXPECT_TRUE(view.sla_breached());
  EXPECT_EQ(ToEntry(wait).kind(), "TicketWaiting");
  EXPECT_EQ(ToEntry(warned).summary(), "First response target at risk");
}

// Last week's complaint stays on the card once resolved, and a reopened
// ticket is open again with its subject.
TEST_F(CardTest, ResolvedTicketsStayInViewAndReopenedOnesComeBack) {
  for (int i = 1; i <= 6; ++i) {
    auto t = At(i * 10);
    auto* p = t.mutable_ticket_opened();
    p->set_ticket_id("tkt_" + std::to_string(i));
    p->set_category(v1::TICKET_CATEGORY_COMPLAINT);
    p->set_subject("complaint " + std::to_string(i));
    Apply(t);
    auto done = At(i * 10 + 1);
    done.mutable_ticket_resolved()->set_ticket_id("tkt_" + std::to_string(i));
    done.mutable_ticket_resolved()->set_resolution("sorted " + std::to_string(i));
    Apply(done);
  }
  EXPECT_EQ(card_.open_tickets_size(), 0);
  ASSERT_EQ(card_.recent_resolved_tickets_size(), 5);                // the oldest left the card
  EXPECT_EQ(card_.recent_resolved_tickets(0).ticket_id(), "tkt_6");  // most recent first
  EXPECT_EQ(card_.recent_resolved_tickets(0).resolution(), "sorted 6");
  EXPECT_EQ(card_.recent_resolved_tickets(0).resolved_at().seconds(),
            domain::ToProto(kNow + std::chrono::seconds(61)).seconds());
  EXPECT_EQ(card_.recent_resolved_tickets(4).ticket_id(), "tkt_2");
  RefreshDerived(card_, kNow + std::chrono::hours(24));
  EXPECT_TRUE(HasFlag("RECENT_COMPLAINT"));
  RefreshDerived(card_, kNow + std::chrono::hours(24 * 8));
  EXPECT_FALSE(HasFlag("RECENT_COMPLAINT"));

  auto reopen = At(100);
  reopen.mutable_ticket_reopened()->set_ticket_id("tkt_4");
  *reopen.mutable_ticket_reopened()->mutable_sla_due_at() =
      domain::ToProto(kNow + std::chrono::hours(8));
  Apply(reopen);
  ASSERT_EQ(card_.open_tickets_size(), 1);
  EXPECT_EQ(card_.open_tickets(0).subject(), "complaint 4");
  EXPECT_EQ(card_.open_tickets(0).category(), "complaint");
  EXPECT_FALSE(card_.open_tickets(0).has_resolved_at());
  EXPECT_EQ(domain::FromProto(card_.open_tickets(0).sla_due_at()), kNow + std::chrono::hours(8));
  EXPECT_EQ(card_.recent_resolved_tickets_size(), 4);
  // One that left the card comes back by its id.
  auto old = At(110);
  old.mutable_ticket_reopened()->set_ticket_id("tkt_1");
  Apply(old);
  ASSERT_EQ(card_.open_tickets_size(), 2);
  EXPECT_EQ(card_.open_tickets(1).ticket_id(), "tkt_1");
}

TEST_F(CardTest, ComplaintAndHeldChargeRaiseGuidance) {
  auto t = At(0);
  auto* p = t.mutable_ticket_opened();
  p->set_ticket_id("tkt_1");
  p->set_category(v1::TICKET_CATEGORY_COMPLAINT);
  p->set_tier(v1::SUPPORT_TIER_L1);
  *p->mutable_sla_due_at() = domain::ToProto(kNow + std::chrono::hours(4));
  Apply(t);
  auto charge = At(1, v1::CHANNEL_SYSTEM);
  auto* ch = charge.mutable_charge_scheduled();
  ch->set_charge_id("chg_1");
  ch->set_status(v1::CHARGE_STATUS_HELD);
  ch->set_hold_reason("awaiting installation");
  Apply(charge);
  RefreshDerived(card_, kNow);
  EXPECT_TRUE(HasFlag("OPEN_COMPLAINT"));
  EXPECT_TRUE(HasFlag("INSTALLATION_PENDING"));
  ASSERT_EQ(card_.open_tickets_size(), 1);
  EXPECT_EQ(card_.open_tickets(0).tier(), "L1");

  auto resolved = At(2);
  resolved.mutable_ticket_resolved()->set_ticket_id("tkt_1");
  Apply(resolved);
  RefreshDerived(card_, kNow);
  EXPECT_FALSE(HasFlag("OPEN_COMPLAINT"));
  EXPECT_EQ(card_.open_tickets_size(), 0);
}

TEST_F(CardTest, OverdueCallbackIsFlagged) {
  auto m = At(0);
  auto* p = m.mutable_missed_call_linked();
  p->set_callback_id("cb_1");
  p->set_caller_number("+31612345678");
  *p->mutable_sla_due_at() = domain::ToProto(kNow + std::chrono::hours(2));
  Apply(m);
  RefreshDerived(card_, kNow + std::chrono::hours(1));
  EXPECT_FALSE(HasFlag("CALLBACK_OVERDUE"));
  RefreshDerived(card_, kNow + std::chrono::hours(3));
  EXPECT_TRUE(HasFlag("CALLBACK_OVERDUE"));
}

// A missed call recorded with a called_at 4 minutes ahead of the service's
// clock, and completed at once: the completion sorts before the call.
TEST_F(CardTest, ACallbackCompletedBeforeItsCallInTimelineOrderIsClosed) {
  auto completed = At(0);
  completed.mutable_callback_completed()->set_callback_id("cb_1");
  completed.mutable_callback_completed()->set_reached(true);
  auto call = At(240);
  auto* p = call.mutable_missed_call_recorded();
  p->set_callback_id("cb_1");
  p->set_caller_number("+31612345678");
  *p->mutable_sla_due_at() = domain::ToProto(kNow + std::chrono::hours(2));
  auto other = At(300);
  other.mutable_callback_scheduled()->set_callback_id("cb_2");
  *other.mutable_callback_scheduled()->mutable_due_at() =
      domain::ToProto(kNow + std::chrono::hours(10));

  FoldCard({completed, call, other}, card_);
  ASSERT_EQ(card_.open_callbacks_size(), 1);
  EXPECT_EQ(card_.open_callbacks(0).callback_id(), "cb_2");
  RefreshDerived(card_, kNow + std::chrono::hours(3));
  // cb_1 would be past due by now; it is closed, so nothing is overdue.
  EXPECT_FALSE(HasFlag("CALLBACK_OVERDUE"));

  // In the order the clocks agree on, the same card.
  v1::CustomerContext in_order;
  FoldCard({call, completed, other}, in_order);
  ASSERT_EQ(in_order.open_callbacks_size(), 1);
  EXPECT_EQ(in_order.open_callbacks(0).callback_id(), "cb_2");
}

TEST_F(CardTest, LastContactPerChannelIgnoresSystemEvents) {
  Apply(At(10, v1::CHANNEL_PHONE));
  Apply(At(5, v1::CHANNEL_PHONE));  // older: does not move it back
  Apply(At(20, v1::CHANNEL_SYSTEM));
  ASSERT_EQ(card_.last_contacts_size(), 1);
  EXPECT_EQ(card_.last_contacts(0).at().seconds(),
            domain::ToProto(kNow + std::chrono::seconds(10)).seconds());
}

TEST_F(CardTest, EveryEventKindHasASummary) {
  const auto* oneof = v1::EventEnvelope::descriptor()->FindOneofByName("payload");
  ASSERT_NE(oneof, nullptr);
  for (int i = 0; i < oneof->field_count(); ++i) {
    v1::EventEnvelope e = At(0);
    const auto* field = oneof->field(i);
    e.GetReflection()->MutableMessage(&e, field);
    auto entry = ToEntry(e);
    EXPECT_EQ(entry.kind(), field->message_type()->name());
    EXPECT_FALSE(entry.summary().empty()) << field->name();
    EXPECT_NE(entry.summary(), "Unknown event") << field->name();
  }
}

}  // namespace
}  // namespace threadline::journey
