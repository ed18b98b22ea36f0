#include "threadline/journey/projection.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "threadline/billing/domain.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/envelope_check.h"

namespace threadline::journey {
namespace {

std::string Money(const v1::Money& m) {
  int64_t a = m.amount_minor();
  std::string sign = a < 0 ? "-" : "";
  // The magnitude as unsigned: -INT64_MIN does not fit an int64_t, and
  // events on a topic are not validated again (found by tests/fuzz).
  uint64_t mag = a < 0 ? 0 - static_cast<uint64_t>(a) : static_cast<uint64_t>(a);
  std::string cents = std::to_string(mag % 100);
  if (cents.size() < 2) cents = "0" + cents;
  return sign + std::to_string(mag / 100) + "." + cents + " " + m.currency();
}

std::string ChannelName(v1::Channel c) {
  std::string n = v1::Channel_Name(c);
  if (n.rfind("CHANNEL_", 0) == 0) n = n.substr(8);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return n;
}

std::string TierName(v1::SupportTier t) {
  switch (t) {
    case v1::SUPPORT_TIER_L1:
      return "L1";
    case v1::SUPPORT_TIER_L2:
      return "L2";
    case v1::SUPPORT_TIER_SUPERVISOR:
      return "supervisor";
    default:
      return "unassigned";
  }
}

std::string Lower(std::string s, std::string_view prefix) {
  if (s.rfind(prefix, 0) == 0) s = s.substr(prefix.size());
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

v1::CommitmentState StateOf(bool kept) {
  return kept ? v1::COMMITMENT_STATE_KEPT : v1::COMMITMENT_STATE_BROKEN;
}

template <typename List, typename Pred>
void EraseIf(List* list, Pred pred) {
  list->erase(std::remove_if(list->begin(), list->end(), pred), list->end());
}

bool IsClosed(const v1::CommitmentView& c) {
  return c.state() == v1::COMMITMENT_STATE_KEPT || c.state() == v1::COMMITMENT_STATE_BROKEN;
}

// Keeps the first `n` elements; returns how many it dropped.
template <typename List>
uint32_t KeepFirst(List* list, size_t n) {
  if (static_cast<size_t>(list->size()) <= n) return 0;
  const auto dropped = static_cast<uint32_t>(static_cast<size_t>(list->size()) - n);
  list->erase(list->begin() + static_cast<int>(n), list->end());
  return dropped;
}

// The oldest closed commitments beyond kStoredClosedCommitments leave the
// stored card, counted; the timeline keeps them.
void AgeOutClosedCommitments(v1::CustomerContext& card) {
  auto* list = card.mutable_commitments();
  size_t closed = static_cast<size_t>(std::count_if(list->begin(), list->end(), IsClosed));
  if (closed <= kStoredClosedCommitments) return;
  size_t drop = closed - kStoredClosedCommitments;
  auto* omitted = card.mutable_omitted();
  omitted->set_closed_commitments(omitted->closed_commitments() + static_cast<uint32_t>(drop));
  EraseIf(list, [&drop](const v1::CommitmentView& c) {
    if (drop == 0 || !IsClosed(c)) return false;
    --drop;
    return true;
  });
}

// Resolved tickets a card keeps, most recent first.
constexpr int kRecentResolvedTickets = 5;

// The clocks an event decided: due times shown, a new clock not at risk
// (yet); a clock the event leaves unset keeps going.
void ApplyClocks(const v1::SlaClocks& c, v1::OpenTicketView& t) {
  if (c.has_first_response_due_at()) {
    *t.mutable_first_response_due_at() = c.first_response_due_at();
    t.set_at_risk(false);
  }
  if (c.has_resolution_due_at()) {
    *t.mutable_resolution_due_at() = c.resolution_due_at();
    *t.mutable_sla_due_at() = c.resolution_due_at();
    t.set_at_risk(false);
  }
}

}  // namespace

std::string DecodeEvent(std::string_view value, v1::EventEnvelope& e) {
  if (absl::Status s = domain::CheckEnvelopeSize(value.size()); !s.ok()) {
    return domain::Cat("invalid envelope: ", s.message());
  }
  if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return "not an EventEnvelope";
  }
  if (e.event_id().empty()) return "envelope without event_id";
  if (e.schema_version() > kMaxSchemaVersion) {
    return "schema_version " + std::to_string(e.schema_version()) +
           " is newer than this projector understands (" + std::to_string(kMaxSchemaVersion) + ")";
  }
  if (e.payload_case() == v1::EventEnvelope::PAYLOAD_NOT_SET) {
    return "envelope with an unknown or empty payload";
  }
  if (absl::Status s = domain::ValidateEnvelope(e); !s.ok()) {
    return domain::Cat("invalid envelope: ", s.message());
  }
  return "";
}

v1::TimelineEntry ToEntry(const v1::EventEnvelope& e) {
  v1::TimelineEntry t;
  t.set_event_id(e.event_id());
  t.set_customer_id(e.customer_id());
  *t.mutable_occurred_at() = e.occurred_at();
  t.set_department(e.department());
  t.set_channel(e.channel());
  *t.mutable_actor() = e.actor();
  t.set_kind(domain::EventType(e));
  auto& refs = *t.mutable_refs();
  std::string s;
  switch (e.payload_case()) {
    case v1::EventEnvelope::kCustomerRegistered:
      s = "Customer " + e.customer_registered().name() + " registered";
      break;
    case v1::EventEnvelope::kOrderPlaced: {
      const auto& p = e.order_placed();
      refs["order_id"] = p.order_id();
      s = "Order placed:";
      for (int i = 0; i < p.items_size(); ++i) {
        s += (i ? ", " : " ") + p.items(i).description();
      }
      if (p.commitments_size() > 0) {
        s += "; promised: " + p.commitments(0).text();
        if (p.commitments_size() > 1) s += " (+" + std::to_string(p.commitments_size() - 1) + ")";
      }
      break;
    }
    case v1::EventEnvelope::kOrderCancelled:
      refs["order_id"] = e.order_cancelled().order_id();
      s = "Order cancelled: " + e.order_cancelled().reason();
      break;
    case v1::EventEnvelope::kProductSwitched:
      s = "Switched from " + e.product_switched().from_sku() + " to " +
          e.product_switched().to_sku();
      break;
    case v1::EventEnvelope::kContactLogged:
      s = std::string(e.contact_logged().direction() == v1::CONTACT_DIRECTION_INBOUND
                          ? "Customer contacted us"
                          : "We contacted the customer") +
          " by " + ChannelName(e.contact_logged().contact_channel()) + ": " +
          e.contact_logged().outcome();
      break;
    case v1::EventEnvelope::kWorkOrderCreated: {
      const auto& p = e.work_order_created();
      refs["work_order_id"] = p.work_order_id();
      refs["order_id"] = p.order_id();
      s = "Installation work order created for " + std::to_string(p.scope_size()) + " item(s)";
      break;
    }
    case v1::EventEnvelope::kAppointmentProposed:
      refs["work_order_id"] = e.appointment_proposed().work_order_id();
      s = "Installation appointment proposed by " +
          ChannelName(e.appointment_proposed().asked_via()) + " (not yet confirmed)";
      break;
    case v1::EventEnvelope::kAppointmentConfirmed:
      refs["work_order_id"] = e.appointment_confirmed().work_order_id();
      s = "Customer confirmed the installation appointment";
      break;
    case v1::EventEnvelope::kAppointmentDeclined:
      refs["work_order_id"] = e.appointment_declined().work_order_id();
      s = "Customer declined the appointment: " + e.appointment_declined().reason();
      break;
    case v1::EventEnvelope::kTechnicianAssigned:
      refs["work_order_id"] = e.technician_assigned().work_order_id();
      s = "Technician " + e.technician_assigned().technician_name() + " assigned";
      break;
    case v1::EventEnvelope::kInstallationCompleted: {
      const auto& p = e.installation_completed();
      refs["work_order_id"] = p.work_order_id();
      refs["order_id"] = p.order_id();
      s = p.outcome() == v1::COMPLETION_OUTCOME_FULL ? "Installation completed"
                                                     : "Installation partly delivered";
      if (p.not_delivered_size() > 0) {
        s += "; not delivered: " + p.not_delivered(0).reason();
      }
      break;
    }
    case v1::EventEnvelope::kWorkOrderCancelled:
      refs["work_order_id"] = e.work_order_cancelled().work_order_id();
      s = "Installation cancelled: " + e.work_order_cancelled().reason();
      break;
    case v1::EventEnvelope::kTicketOpened:
      refs["ticket_id"] = e.ticket_opened().ticket_id();
      s = Lower(v1::TicketCategory_Name(e.ticket_opened().category()), "TICKET_CATEGORY_") +
          " opened: " + e.ticket_opened().subject();
      break;
    case v1::EventEnvelope::kMissedCallRecorded:
      refs["callback_id"] = e.missed_call_recorded().callback_id();
      s = "Missed call from " + e.missed_call_recorded().caller_number() + " — call back";
      break;
    case v1::EventEnvelope::kMissedCallLinked:
      refs["callback_id"] = e.missed_call_linked().callback_id();
      s = "Earlier missed call from " + e.missed_call_linked().caller_number() +
          " linked to this customer";
      break;
    case v1::EventEnvelope::kInteractionAdded:
      refs["ticket_id"] = e.interaction_added().ticket_id();
      s = std::string(e.interaction_added().from_customer() ? "Customer: " : "Agent: ") +
          e.interaction_added().note();
      break;
    case v1::EventEnvelope::kTicketAssigned:
      refs["ticket_id"] = e.ticket_assigned().ticket_id();
      s = "Ticket assigned to " + e.ticket_assigned().agent() + " (" +
          TierName(e.ticket_assigned().tier()) + ")";
      break;
    case v1::EventEnvelope::kTicketEscalated:
      refs["ticket_id"] = e.ticket_escalated().ticket_id();
      s = "Ticket escalated to " + TierName(e.ticket_escalated().to_tier()) + ": " +
          e.ticket_escalated().reason();
      break;
    case v1::EventEnvelope::kTicketResolved:
      refs["ticket_id"] = e.ticket_resolved().ticket_id();
      s = "Ticket resolved: " + e.ticket_resolved().resolution();
      break;
    case v1::EventEnvelope::kTicketReopened:
      refs["ticket_id"] = e.ticket_reopened().ticket_id();
      s = "Ticket reopened: " + e.ticket_reopened().reason();
      break;
    case v1::EventEnvelope::kCallbackScheduled:
      refs["callback_id"] = e.callback_scheduled().callback_id();
      s = "Callback scheduled: " + e.callback_scheduled().reason();
      break;
    case v1::EventEnvelope::kCallbackCompleted:
      refs["callback_id"] = e.callback_completed().callback_id();
      s = e.callback_completed().reached() ? "Called back the customer"
                                           : "Tried to call back; no answer";
      break;
    case v1::EventEnvelope::kSlaBreached:
      if (!e.sla_breached().ticket_id().empty()) refs["ticket_id"] = e.sla_breached().ticket_id();
      if (!e.sla_breached().callback_id().empty()) {
        refs["callback_id"] = e.sla_breached().callback_id();
      }
      s = e.sla_breached().target() == "first_response" ? "First response target breached"
                                                        : "Service level breached";
      break;
    case v1::EventEnvelope::kSlaAtRisk:
      if (!e.sla_at_risk().ticket_id().empty()) refs["ticket_id"] = e.sla_at_risk().ticket_id();
      if (!e.sla_at_risk().callback_id().empty()) {
        refs["callback_id"] = e.sla_at_risk().callback_id();
      }
      s = e.sla_at_risk().target() == "first_response" ? "First response target at risk"
                                                       : "Service level at risk";
      break;
    case v1::EventEnvelope::kTicketWaiting:
      refs["ticket_id"] = e.ticket_waiting().ticket_id();
      s = "Waiting on the customer: " + e.ticket_waiting().reason();
      break;
    case v1::EventEnvelope::kTicketResumed:
      refs["ticket_id"] = e.ticket_resumed().ticket_id();
      s = e.ticket_resumed().by_customer() ? "Customer answered; service level clock runs again"
                                           : "Service level clock runs again";
      break;
    case v1::EventEnvelope::kChargeScheduled: {
      const auto& p = e.charge_scheduled();
      refs["charge_id"] = p.charge_id();
      refs["order_id"] = p.order_id();
      s = "Charge scheduled: " + p.description() + " " + Money(p.monthly()) + "/month";
      if (p.status() == v1::CHARGE_STATUS_HELD) s += " (held: " + p.hold_reason() + ")";
      break;
    }
    case v1::EventEnvelope::kChargeActivated:
      refs["charge_id"] = e.charge_activated().charge_id();
      s = "Charge activated after delivery";
      break;
    case v1::EventEnvelope::kChargeHeld:
      refs["charge_id"] = e.charge_held().charge_id();
      s = "Charge held: " + e.charge_held().reason();
      break;
    case v1::EventEnvelope::kChargeCancelled:
      refs["charge_id"] = e.charge_cancelled().charge_id();
      s = "Charge cancelled: " + e.charge_cancelled().reason();
      break;
    case v1::EventEnvelope::kInvoiceIssued:
      refs["invoice_id"] = e.invoice_issued().invoice_id();
      s = "Invoice issued: " + Money(e.invoice_issued().total());
      break;
    case v1::EventEnvelope::kPaymentRecorded:
      refs["payment_id"] = e.payment_recorded().payment_id();
      s = "Payment received: " + Money(e.payment_recorded().amount());
      break;
    case v1::EventEnvelope::kCreditGranted:
      refs["credit_id"] = e.credit_granted().credit_id();
      s = "Credit " + Money(e.credit_granted().amount()) +
          (e.credit_granted().status() == v1::CREDIT_STATUS_PENDING_APPROVAL
               ? " awaiting approval: "
               : " granted: ") +
          e.credit_granted().reason();
      break;
    case v1::EventEnvelope::kCreditApproved:
      refs["credit_id"] = e.credit_approved().credit_id();
      s = "Credit approved";
      break;
    case v1::EventEnvelope::kChargeDisputed:
      refs["dispute_id"] = e.charge_disputed().dispute_id();
      s = "Customer disputes a charge: " + e.charge_disputed().reason();
      break;
    case v1::EventEnvelope::kDisputeResolved:
      refs["dispute_id"] = e.dispute_resolved().dispute_id();
      s = e.dispute_resolved().outcome() == v1::DISPUTE_OUTCOME_UPHELD ? "Dispute upheld"
                                                                       : "Dispute rejected";
      break;
    case v1::EventEnvelope::kCustomerErased:
      s = "Personal data erased on request (" + e.customer_erased().reason() + ")";
      break;
    case v1::EventEnvelope::kCustomerDataExported:
      refs["export_id"] = e.customer_data_exported().export_id();
      s = "Personal data exported on request";
      break;
    case v1::EventEnvelope::kPolicyChanged:
      // Recorded without a customer, so the projector keeps it as seen
      // only; an entry exists when a test or a tool asks for one.
      s = "Policy changed to " + e.policy_changed().digest().substr(0, 12);
      break;
    case v1::EventEnvelope::PAYLOAD_NOT_SET:
      s = "Unknown event";
      break;
  }
  t.set_summary(std::move(s));
  return t;
}

void ApplyToCard(const v1::EventEnvelope& e, v1::CustomerContext& card) {
  card.set_customer_id(e.customer_id());
  card.set_timeline_length(card.timeline_length() + 1);
  if (!card.has_updated_at() ||
      domain::FromProto(card.updated_at()) < domain::FromProto(e.recorded_at())) {
    *card.mutable_updated_at() = e.recorded_at();
  }
  // Last contact per channel: only contacts with a person count.
  if (e.channel() != v1::CHANNEL_SYSTEM && e.channel() != v1::CHANNEL_UNSPECIFIED) {
    v1::LastContact* lc = nullptr;
    for (auto& c : *card.mutable_last_contacts()) {
      if (c.channel() == e.channel()) lc = &c;
    }
    if (lc == nullptr) {
      lc = card.add_last_contacts();
      lc->set_channel(e.channel());
    }
    if (!lc->has_at() || domain::FromProto(lc->at()) < domain::FromProto(e.occurred_at())) {
      *lc->mutable_at() = e.occurred_at();
    }
  }
  switch (e.payload_case()) {
    case v1::EventEnvelope::kCustomerRegistered: {
      const auto& p = e.customer_registered();
      card.set_name(p.name());
      card.mutable_phone_numbers()->CopyFrom(p.phone_numbers());
      card.mutable_emails()->CopyFrom(p.emails());
      card.set_preferred_channel(p.preferred_channel());
      break;
    }
    case v1::EventEnvelope::kOrderPlaced:
      for (const auto& item : e.order_placed().items()) {
        // A product is what the customer keeps (and pays for monthly); a
        // line paid once and never again (the installation itself, a fee)
        // is billing's, not a product.
        if (item.monthly_price().amount_minor() == 0 && item.one_off_price().amount_minor() != 0) {
          continue;
        }
        auto* prod = card.add_products();
        prod->set_sku(item.sku());
        prod->set_description(item.description());
        *prod->mutable_since() = e.occurred_at();
      }
      for (const auto& c : e.order_placed().commitments()) {
        auto* v = card.add_commitments();
        v->set_commitment_id(c.commitment_id());
        v->set_text(c.text());
        v->set_owner(c.owner());
        *v->mutable_due_by() = c.due_by();
        v->set_state(v1::COMMITMENT_STATE_OPEN);
        v->set_order_id(e.order_placed().order_id());
      }
      break;
    case v1::EventEnvelope::kOrderCancelled:
      for (auto& c : *card.mutable_commitments()) {
        if (c.order_id() == e.order_cancelled().order_id() &&
            c.state() != v1::COMMITMENT_STATE_KEPT) {
          c.set_state(v1::COMMITMENT_STATE_BROKEN);
          c.set_reason("order cancelled: " + e.order_cancelled().reason());
        }
      }
      AgeOutClosedCommitments(card);
      break;
    case v1::EventEnvelope::kProductSwitched: {
      const auto& p = e.product_switched();
      bool found = false;
      for (auto& prod : *card.mutable_products()) {
        if (prod.sku() == p.from_sku()) {
          prod.add_previous_skus(prod.sku());
          prod.set_sku(p.to_sku());
          prod.set_description(p.to_sku());
          *prod.mutable_since() = p.effective_at();
          found = true;
          break;
        }
      }
      if (!found) {
        auto* prod = card.add_products();
        prod->set_sku(p.to_sku());
        prod->set_description(p.to_sku());
        prod->add_previous_skus(p.from_sku());
        *prod->mutable_since() = p.effective_at();
      }
      break;
    }
    case v1::EventEnvelope::kAppointmentProposed: {
      auto* a = card.mutable_next_appointment();
      a->set_work_order_id(e.appointment_proposed().work_order_id());
      a->set_appointment_id(e.appointment_proposed().appointment_id());
      *a->mutable_slot() = e.appointment_proposed().slot();
      a->set_confirmed(false);
      break;
    }
    case v1::EventEnvelope::kAppointmentConfirmed:
      if (card.next_appointment().appointment_id() == e.appointment_confirmed().appointment_id()) {
        card.mutable_next_appointment()->set_confirmed(true);
      }
      break;
    case v1::EventEnvelope::kAppointmentDeclined:
      if (card.next_appointment().appointment_id() == e.appointment_declined().appointment_id()) {
        card.clear_next_appointment();
      }
      break;
    case v1::EventEnvelope::kInstallationCompleted: {
      const auto& p = e.installation_completed();
      if (card.next_appointment().work_order_id() == p.work_order_id()) {
        card.clear_next_appointment();
      }
      for (const auto& outcome : p.commitments()) {
        for (auto& c : *card.mutable_commitments()) {
          if (c.commitment_id() == outcome.commitment_id()) {
            c.set_state(StateOf(outcome.kept()));
            c.set_reason(outcome.reason());
          }
        }
      }
      AgeOutClosedCommitments(card);
      break;
    }
    case v1::EventEnvelope::kWorkOrderCancelled:
      if (card.next_appointment().work_order_id() == e.work_order_cancelled().work_order_id()) {
        card.clear_next_appointment();
      }
      break;
    case v1::EventEnvelope::kTicketOpened: {
      const auto& p = e.ticket_opened();
      auto* t = card.add_open_tickets();
      t->set_ticket_id(p.ticket_id());
      t->set_category(Lower(v1::TicketCategory_Name(p.category()), "TICKET_CATEGORY_"));
      t->set_subject(p.subject());
      t->set_tier(TierName(p.tier()));
      *t->mutable_sla_due_at() = p.sla_due_at();
      *t->mutable_resolution_due_at() = p.sla_due_at();
      ApplyClocks(p.clocks(), *t);
      break;
    }
    case v1::EventEnvelope::kInteractionAdded: {
      const auto& p = e.interaction_added();
      // The first answer to the customer stops the first-response clock.
      if (p.from_customer() || p.internal()) break;
      for (auto& t : *card.mutable_open_tickets()) {
        if (t.ticket_id() != p.ticket_id() || !t.has_first_response_due_at()) continue;
        t.clear_first_response_due_at();
        t.set_at_risk(false);  // warnings come before the first answer
      }
      break;
    }
    case v1::EventEnvelope::kTicketWaiting:
    case v1::EventEnvelope::kTicketResumed: {
      const bool waiting = e.has_ticket_waiting();
      const std::string& id =
          waiting ? e.ticket_waiting().ticket_id() : e.ticket_resumed().ticket_id();
      for (auto& t : *card.mutable_open_tickets()) {
        if (t.ticket_id() != id) continue;
        t.set_paused(waiting);
        if (!waiting) ApplyClocks(e.ticket_resumed().clocks(), t);
      }
      break;
    }
    case v1::EventEnvelope::kSlaAtRisk:
      for (auto& t : *card.mutable_open_tickets()) {
        if (t.ticket_id() == e.sla_at_risk().ticket_id()) t.set_at_risk(true);
      }
      break;
    case v1::EventEnvelope::kTicketAssigned:
    case v1::EventEnvelope::kTicketEscalated: {
      bool escalated = e.has_ticket_escalated();
      const std::string& id =
          escalated ? e.ticket_escalated().ticket_id() : e.ticket_assigned().ticket_id();
      for (auto& t : *card.mutable_open_tickets()) {
        if (t.ticket_id() != id) continue;
        t.set_tier(
            TierName(escalated ? e.ticket_escalated().to_tier() : e.ticket_assigned().tier()));
        if (escalated && e.ticket_escalated().has_sla_due_at()) {
          *t.mutable_sla_due_at() = e.ticket_escalated().sla_due_at();
          *t.mutable_resolution_due_at() = e.ticket_escalated().sla_due_at();
          t.set_sla_breached(false);
          t.set_paused(false);  // an escalated ticket is worked on
          ApplyClocks(e.ticket_escalated().clocks(), t);
        }
      }
      break;
    }
    case v1::EventEnvelope::kTicketResolved: {
      const auto& p = e.ticket_resolved();
      auto* open = card.mutable_open_tickets();
      for (int i = 0; i < open->size(); ++i) {
        if (open->Get(i).ticket_id() != p.ticket_id()) continue;
        v1::OpenTicketView done = open->Get(i);
        open->DeleteSubrange(i, 1);
        done.clear_first_response_due_at();
        done.set_paused(false);
        done.set_at_risk(false);
        *done.mutable_resolved_at() = e.occurred_at();
        done.set_resolution(p.resolution());
        auto* recent = card.mutable_recent_resolved_tickets();
        recent->Add(std::move(done));
        // Most recent first.
        std::rotate(recent->rbegin(), recent->rbegin() + 1, recent->rend());
        if (recent->size() > kRecentResolvedTickets) {
          recent->DeleteSubrange(kRecentResolvedTickets, recent->size() - kRecentResolvedTickets);
        }
        break;
      }
      break;
    }
    case v1::EventEnvelope::kTicketReopened: {
      const auto& p = e.ticket_reopened();
      v1::OpenTicketView reopened;
      reopened.set_ticket_id(p.ticket_id());
      auto* recent = card.mutable_recent_resolved_tickets();
      for (int i = 0; i < recent->size(); ++i) {
        if (recent->Get(i).ticket_id() != p.ticket_id()) continue;
        reopened = recent->Get(i);
        recent->DeleteSubrange(i, 1);
        break;
      }
      // Resolved too long ago to be on the card: shown by its id.
      reopened.clear_resolved_at();
      reopened.clear_resolution();
      reopened.set_sla_breached(false);
      *reopened.mutable_sla_due_at() = p.sla_due_at();
      *reopened.mutable_resolution_due_at() = p.sla_due_at();
      ApplyClocks(p.clocks(), reopened);
      reopened.set_at_risk(false);
      *card.add_open_tickets() = std::move(reopened);
      break;
    }
    case v1::EventEnvelope::kSlaBreached:
      for (auto& t : *card.mutable_open_tickets()) {
        if (t.ticket_id() != e.sla_breached().ticket_id()) continue;
        t.set_sla_breached(true);
        t.set_at_risk(false);  // past at risk
      }
      for (auto& c : *card.mutable_open_callbacks()) {
        if (c.callback_id() == e.sla_breached().callback_id()) c.set_overdue(true);
      }
      break;
    case v1::EventEnvelope::kMissedCallRecorded:
    case v1::EventEnvelope::kMissedCallLinked:
    case v1::EventEnvelope::kCallbackScheduled: {
      auto* c = card.add_open_callbacks();
      if (e.has_missed_call_recorded()) {
        c->set_callback_id(e.missed_call_recorded().callback_id());
        c->set_phone_number(e.missed_call_recorded().caller_number());
        *c->mutable_due_at() = e.missed_call_recorded().sla_due_at();
      } else if (e.has_missed_call_linked()) {
        c->set_callback_id(e.missed_call_linked().callback_id());
        c->set_phone_number(e.missed_call_linked().caller_number());
        *c->mutable_due_at() = e.missed_call_linked().sla_due_at();
      } else {
        c->set_callback_id(e.callback_scheduled().callback_id());
        c->set_phone_number(e.callback_scheduled().phone_number());
        *c->mutable_due_at() = e.callback_scheduled().due_at();
      }
      break;
    }
    case v1::EventEnvelope::kCallbackCompleted:
      EraseIf(card.mutable_open_callbacks(), [&](const v1::CallbackView& c) {
        return c.callback_id() == e.callback_completed().callback_id();
      });
      break;
    case v1::EventEnvelope::kChargeScheduled: {
      const auto& p = e.charge_scheduled();
      if (p.status() == v1::CHARGE_STATUS_HELD) {
        auto* h = card.mutable_billing()->add_held_charges();
        h->set_charge_id(p.charge_id());
        h->set_description(p.description());
        if (p.one_off().amount_minor() != 0) *h->mutable_one_off() = p.one_off();
        if (p.monthly().amount_minor() != 0) *h->mutable_monthly() = p.monthly();
        h->set_reason(p.hold_reason());
      }
      break;
    }
    case v1::EventEnvelope::kChargeActivated:
    case v1::EventEnvelope::kChargeCancelled: {
      const std::string& id = e.has_charge_activated() ? e.charge_activated().charge_id()
                                                       : e.charge_cancelled().charge_id();
      EraseIf(card.mutable_billing()->mutable_held_charges(),
              [&](const v1::HeldChargeView& h) { return h.charge_id() == id; });
      break;
    }
    case v1::EventEnvelope::kChargeHeld:
      for (auto& h : *card.mutable_billing()->mutable_held_charges()) {
        if (h.charge_id() == e.charge_held().charge_id()) h.set_reason(e.charge_held().reason());
      }
      break;
    case v1::EventEnvelope::kInvoiceIssued:
    case v1::EventEnvelope::kPaymentRecorded:
    case v1::EventEnvelope::kCreditGranted:
    case v1::EventEnvelope::kCreditApproved:
    case v1::EventEnvelope::kChargeDisputed:
    case v1::EventEnvelope::kDisputeResolved: {
      auto* b = card.mutable_billing();
      auto* bal = b->mutable_balance();
      // Billing's own rule; it saturates, so a hostile or corrupt event with
      // an extreme amount cannot overflow the card (found by tests/fuzz).
      if (const v1::Money* amount = billing::BalanceAmount(e)) {
        if (bal->currency().empty()) bal->set_currency(amount->currency());
        bal->set_amount_minor(billing::ApplyToBalance(bal->amount_minor(), e));
      }
      if (e.has_credit_granted() && e.credit_granted().status() != v1::CREDIT_STATUS_APPLIED) {
        b->add_pending_credit_ids(e.credit_granted().credit_id());
      }
      if (e.has_credit_approved()) {
        EraseIf(b->mutable_pending_credit_ids(),
                [&](const std::string& id) { return id == e.credit_approved().credit_id(); });
      }
      if (e.has_charge_disputed()) b->add_open_dispute_ids(e.charge_disputed().dispute_id());
      if (e.has_dispute_resolved()) {
        EraseIf(b->mutable_open_dispute_ids(),
                [&](const std::string& id) { return id == e.dispute_resolved().dispute_id(); });
      }
      break;
    }
    case v1::EventEnvelope::kCustomerErased:
      card.set_erased(true);
      break;
    default:
      break;
  }
}

bool OpensCallback(const v1::EventEnvelope& e) {
  return e.has_missed_call_recorded() || e.has_missed_call_linked() || e.has_callback_scheduled();
}

void FoldCard(const std::vector<v1::EventEnvelope>& events, v1::CustomerContext& card) {
  std::set<std::string> completed;
  for (const auto& e : events) {
    if (e.has_callback_completed()) completed.insert(e.callback_completed().callback_id());
  }
  for (const auto& e : events) {
    ApplyToCard(e, card);
    if (!completed.empty() && OpensCallback(e)) {
      EraseIf(card.mutable_open_callbacks(),
              [&](const v1::CallbackView& c) { return completed.count(c.callback_id()) > 0; });
    }
  }
}

void RefreshDerived(v1::CustomerContext& card, TimePoint now) {
  constexpr auto kAtRiskWindow = std::chrono::hours(48);
  bool commitment_broken = false, commitment_at_risk = false;
  for (auto& c : *card.mutable_commitments()) {
    if (c.state() == v1::COMMITMENT_STATE_OPEN || c.state() == v1::COMMITMENT_STATE_AT_RISK) {
      TimePoint due = domain::FromProto(c.due_by());
      if (due < now) {
        c.set_state(v1::COMMITMENT_STATE_BROKEN);
        c.set_reason("due date passed");
      } else if (due - now < kAtRiskWindow) {
        c.set_state(v1::COMMITMENT_STATE_AT_RISK);
      }
    }
    commitment_broken |= c.state() == v1::COMMITMENT_STATE_BROKEN;
    commitment_at_risk |= c.state() == v1::COMMITMENT_STATE_AT_RISK;
  }
  bool callback_overdue = false;
  for (auto& cb : *card.mutable_open_callbacks()) {
    if (domain::FromProto(cb.due_at()) < now) cb.set_overdue(true);
    callback_overdue |= cb.overdue();
  }
  bool open_complaint = false;
  for (const auto& t : card.open_tickets()) open_complaint |= t.category() == "complaint";
  bool recent_complaint = false;
  for (const auto& t : card.recent_resolved_tickets()) {
    recent_complaint |= t.category() == "complaint" &&
                        domain::FromProto(t.resolved_at()) > now - std::chrono::hours(24 * 7);
  }

  card.clear_guidance();
  auto flag = [&card](const char* code, const char* message) {
    auto* g = card.add_guidance();
    g->set_code(code);
    g->set_message(message);
  };
  if (open_complaint) flag("OPEN_COMPLAINT", "open complaint — resolve before any sales contact");
  if (recent_complaint && !open_complaint) {
    flag("RECENT_COMPLAINT", "a complaint was resolved this week — ask whether all is well now");
  }
  if (commitment_broken) {
    flag("COMMITMENT_BROKEN", "a promise to this customer was broken — acknowledge it first");
  }
  if (commitment_at_risk) flag("COMMITMENT_AT_RISK", "a promise is due soon and not yet kept");
  if (card.billing().held_charges_size() > 0) {
    flag("INSTALLATION_PENDING", "installation pending — do not bill the held charges");
  }
  if (callback_overdue) flag("CALLBACK_OVERDUE", "callback overdue — call the customer back now");
  if (card.has_next_appointment() && !card.next_appointment().confirmed()) {
    flag("APPOINTMENT_UNCONFIRMED", "appointment not confirmed by the customer");
  }
  if (card.billing().open_dispute_ids_size() > 0) {
    flag("BILLING_DISPUTE", "billing dispute open — do not chase payment");
  }
}

void BoundCard(v1::CustomerContext& card) {
  auto* omitted = card.mutable_omitted();
  // Commitments: the open ones due soonest and the closed ones closed last
  // (the card keeps them in the order they were made).
  auto* list = card.mutable_commitments();
  std::vector<int> open, closed;
  for (int i = 0; i < list->size(); ++i) (IsClosed(list->Get(i)) ? closed : open).push_back(i);
  std::stable_sort(open.begin(), open.end(), [&](int a, int b) {
    return domain::FromProto(list->Get(a).due_by()) < domain::FromProto(list->Get(b).due_by());
  });
  std::vector<bool> keep(static_cast<size_t>(list->size()), false);
  for (size_t i = 0; i < open.size() && i < kShownOpenCommitments; ++i) keep[open[i]] = true;
  for (size_t i = closed.size() > kShownClosedCommitments ? closed.size() - kShownClosedCommitments
                                                          : 0;
       i < closed.size(); ++i) {
    keep[closed[i]] = true;
  }
  if (open.size() > kShownOpenCommitments) {
    omitted->set_open_commitments(static_cast<uint32_t>(open.size() - kShownOpenCommitments));
  }
  if (closed.size() > kShownClosedCommitments) {
    omitted->set_closed_commitments(omitted->closed_commitments() +
                                    static_cast<uint32_t>(closed.size() - kShownClosedCommitments));
  }
  int at = 0;
  EraseIf(list, [&](const v1::CommitmentView&) { return !keep[static_cast<size_t>(at++)]; });

  // Products: the newest. The rest: the oldest first, as they stand.
  auto* products = card.mutable_products();
  if (static_cast<size_t>(products->size()) > kShownListElements) {
    const int drop = products->size() - static_cast<int>(kShownListElements);
    products->erase(products->begin(), products->begin() + drop);
    omitted->set_products(static_cast<uint32_t>(drop));
  }
  omitted->set_open_tickets(KeepFirst(card.mutable_open_tickets(), kShownListElements));
  omitted->set_open_callbacks(KeepFirst(card.mutable_open_callbacks(), kShownListElements));
  if (card.has_billing()) {
    auto* billing = card.mutable_billing();
    omitted->set_held_charges(KeepFirst(billing->mutable_held_charges(), kShownListElements));
    omitted->set_open_disputes(KeepFirst(billing->mutable_open_dispute_ids(), kShownListElements));
    omitted->set_pending_credits(
        KeepFirst(billing->mutable_pending_credit_ids(), kShownListElements));
  }
  if (omitted->ByteSizeLong() == 0) card.clear_omitted();
}

}  // namespace threadline::journey
