#include "threadline/installation/domain.h"

#include <set>

#include "threadline/common/status.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/validate.h"

namespace threadline::installation {
namespace {

using domain::Cat;
using domain::ValidateText;

std::string StatusName(v1::WorkOrderStatus s) {
  std::string name = v1::WorkOrderStatus_Name(s);
  constexpr std::string_view kPrefix = "WORK_ORDER_STATUS_";
  return name.rfind(kPrefix, 0) == 0 ? name.substr(kPrefix.size()) : name;
}

absl::Status RequireOpen(const WorkOrderState& s) {
  if (!s.exists) {
    return absl::NotFoundError(
        "work order not found; work orders are created from orders that need installation — "
        "check the work_order_id (ListWorkOrders by customer or order)");
  }
  if (s.status == v1::WORK_ORDER_STATUS_CANCELLED) {
    return absl::FailedPreconditionError(
        Cat("work order ", s.work_order_id,
            " is cancelled (its order was cancelled); it accepts no further changes"));
  }
  if (s.closed()) {
    return absl::FailedPreconditionError(
        Cat("work order ", s.work_order_id, " is ", StatusName(s.status),
            "; it accepts no further changes — a new visit needs a new order"));
  }
  return absl::OkStatus();
}

// Common input checks of commands addressed to a work order.
absl::Status ValidateWorkOrderId(const std::string& id) {
  return domain::ValidateId("work_order_id", id, kWorkOrderPrefix);
}

v1::Channel ChannelOf(v1::Channel requested, const domain::CommandContext& ctx) {
  return requested != v1::CHANNEL_UNSPECIFIED ? requested : ctx.channel;
}

absl::Status RequireCurrentProposal(const WorkOrderState& s, const std::string& appointment_id,
                                    std::string_view verb) {
  if (!s.appointment) {
    return absl::FailedPreconditionError(Cat("no appointment has been proposed for work order ",
                                             s.work_order_id,
                                             "; propose a slot first (ProposeAppointment)"));
  }
  if (s.appointment->appointment_id() != appointment_id) {
    return absl::FailedPreconditionError(Cat("appointment ", appointment_id,
                                             " is not the current proposal of work order ",
                                             s.work_order_id, " (", s.appointment->appointment_id(),
                                             " is); ", verb, " the current proposal"));
  }
  if (s.appointment->declined()) {
    return absl::FailedPreconditionError(
        Cat("appointment ", appointment_id,
            " was already declined; propose a new slot (ProposeAppointment)"));
  }
  return absl::OkStatus();
}

std::string ItemLabel(const v1::ScopeItem& item) {
  if (!item.description().empty()) return item.description();
  if (!item.sku().empty()) return item.sku();
  return item.item_id();
}

}  // namespace

bool WorkOrderState::closed() const {
  return status == v1::WORK_ORDER_STATUS_COMPLETED ||
         status == v1::WORK_ORDER_STATUS_PARTIALLY_COMPLETED ||
         status == v1::WORK_ORDER_STATUS_CANCELLED;
}

void Evolve(WorkOrderState& s, const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kWorkOrderCreated: {
      const auto& p = e.work_order_created();
      s.exists = true;
      s.work_order_id = p.work_order_id();
      s.customer_id = e.customer_id();
      s.order_id = p.order_id();
      s.status = v1::WORK_ORDER_STATUS_OPEN;
      s.scope.assign(p.scope().begin(), p.scope().end());
      s.commitments.assign(p.commitments().begin(), p.commitments().end());
      s.requested_window = p.requested_window();
      break;
    }
    case v1::EventEnvelope::kAppointmentProposed: {
      const auto& p = e.appointment_proposed();
      v1::Appointment a;
      a.set_appointment_id(p.appointment_id());
      *a.mutable_slot() = p.slot();
      a.set_asked_via(p.asked_via());
      s.appointment = std::move(a);
      s.status = v1::WORK_ORDER_STATUS_OPEN;
      break;
    }
    case v1::EventEnvelope::kAppointmentConfirmed:
      if (s.appointment &&
          s.appointment->appointment_id() == e.appointment_confirmed().appointment_id()) {
        s.appointment->set_confirmed(true);
        s.status = v1::WORK_ORDER_STATUS_SCHEDULED;
      }
      break;
    case v1::EventEnvelope::kAppointmentDeclined:
      if (s.appointment &&
          s.appointment->appointment_id() == e.appointment_declined().appointment_id()) {
        s.appointment->set_confirmed(false);
        s.appointment->set_declined(true);
        s.status = v1::WORK_ORDER_STATUS_OPEN;
      }
      break;
    case v1::EventEnvelope::kTechnicianAssigned:
      s.technician_id = e.technician_assigned().technician_id();
      s.technician_name = e.technician_assigned().technician_name();
      break;
    case v1::EventEnvelope::kInstallationCompleted: {
      const auto& p = e.installation_completed();
      s.outcome = p.outcome();
      s.status = p.outcome() == v1::COMPLETION_OUTCOME_FULL
                     ? v1::WORK_ORDER_STATUS_COMPLETED
                     : v1::WORK_ORDER_STATUS_PARTIALLY_COMPLETED;
      s.delivered.assign(p.delivered().begin(), p.delivered().end());
      s.not_delivered.assign(p.not_delivered().begin(), p.not_delivered().end());
      s.commitment_outcomes.assign(p.commitments().begin(), p.commitments().end());
      break;
    }
    case v1::EventEnvelope::kWorkOrderCancelled:
      s.status = v1::WORK_ORDER_STATUS_CANCELLED;
      break;
    default:
      return;  // not a work order event: the version does not move either
  }
  s.version = e.version() != 0 ? e.version() : s.version + 1;
}

absl::StatusOr<domain::Events> Decide(const WorkOrderState& s,
                                      const v1::ProposeAppointmentRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateWorkOrderId(cmd.work_order_id()));
  RETURN_IF_ERROR(domain::ValidateWindow("slot", cmd.slot()));
  if (domain::FromProto(cmd.slot().start()) <= ctx.now) {
    return absl::InvalidArgumentError(
        "slot: starts in the past; propose a slot that starts in the future");
  }
  RETURN_IF_ERROR(RequireOpen(s));
  if (s.appointment && s.appointment->confirmed()) {
    return absl::FailedPreconditionError(
        Cat("the customer confirmed appointment ", s.appointment->appointment_id(),
            "; record the customer's decline (DeclineAppointment) before proposing another "
            "slot"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_appointment_proposed();
  p->set_work_order_id(s.work_order_id);
  p->set_appointment_id(ctx.new_id(kAppointmentPrefix));
  *p->mutable_slot() = cmd.slot();
  p->set_asked_via(ChannelOf(cmd.channel(), ctx));
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const WorkOrderState& s,
                                      const v1::ConfirmAppointmentRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateWorkOrderId(cmd.work_order_id()));
  RETURN_IF_ERROR(domain::ValidateId("appointment_id", cmd.appointment_id(), kAppointmentPrefix));
  RETURN_IF_ERROR(RequireOpen(s));
  RETURN_IF_ERROR(RequireCurrentProposal(s, cmd.appointment_id(), "confirm"));
  if (s.appointment->confirmed()) {
    return absl::FailedPreconditionError(
        Cat("appointment ", cmd.appointment_id(), " is already confirmed"));
  }
  if (domain::FromProto(s.appointment->slot().start()) <= ctx.now) {
    return absl::FailedPreconditionError(
        Cat("appointment ", cmd.appointment_id(),
            " has already started or passed; propose a new slot (ProposeAppointment)"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_appointment_confirmed();
  p->set_work_order_id(s.work_order_id);
  p->set_appointment_id(cmd.appointment_id());
  p->set_answered_via(ChannelOf(cmd.channel(), ctx));
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const WorkOrderState& s,
                                      const v1::DeclineAppointmentRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateWorkOrderId(cmd.work_order_id()));
  RETURN_IF_ERROR(domain::ValidateId("appointment_id", cmd.appointment_id(), kAppointmentPrefix));
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength, false));
  RETURN_IF_ERROR(RequireOpen(s));
  RETURN_IF_ERROR(RequireCurrentProposal(s, cmd.appointment_id(), "decline"));
  v1::EventEnvelope e;
  auto* p = e.mutable_appointment_declined();
  p->set_work_order_id(s.work_order_id);
  p->set_appointment_id(cmd.appointment_id());
  p->set_answered_via(ChannelOf(cmd.channel(), ctx));
  p->set_reason(cmd.reason());
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const WorkOrderState& s,
                                      const v1::AssignTechnicianRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateWorkOrderId(cmd.work_order_id()));
  RETURN_IF_ERROR(ValidateText("technician_id", cmd.technician_id(), domain::kMaxIdLength));
  RETURN_IF_ERROR(ValidateText("technician_name", cmd.technician_name(), domain::kMaxNameLength));
  RETURN_IF_ERROR(RequireOpen(s));
  v1::EventEnvelope e;
  auto* p = e.mutable_technician_assigned();
  p->set_work_order_id(s.work_order_id);
  p->set_technician_id(cmd.technician_id());
  p->set_technician_name(cmd.technician_name());
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const WorkOrderState& s,
                                      const v1::CompleteInstallationRequest& cmd,
                                      const domain::CommandContext& ctx) {
  // Shape of the report, independent of the work order.
  RETURN_IF_ERROR(ValidateWorkOrderId(cmd.work_order_id()));
  RETURN_IF_ERROR(domain::ValidateCount("delivered", cmd.delivered_size()));
  RETURN_IF_ERROR(domain::ValidateCount("not_delivered", cmd.not_delivered_size()));
  RETURN_IF_ERROR(domain::ValidateCount("commitments", cmd.commitments_size()));
  std::map<std::string, std::string> reported;  // item_id -> field that reported it
  auto report = [&](const std::string& field, const std::string& item_id) -> absl::Status {
    RETURN_IF_ERROR(domain::ValidateId(field, item_id, "itm"));
    auto [it, inserted] = reported.emplace(item_id, field);
    if (!inserted) {
      return absl::InvalidArgumentError(Cat(field, ": item ", item_id, " is already reported in ",
                                            it->second, "; list each scope item exactly once"));
    }
    return absl::OkStatus();
  };
  for (int i = 0; i < cmd.delivered_size(); ++i) {
    std::string f = domain::IndexedField("delivered", i);
    RETURN_IF_ERROR(report(f + ".item_id", cmd.delivered(i).item_id()));
    RETURN_IF_ERROR(
        ValidateText(f + ".note", cmd.delivered(i).note(), domain::kMaxTextLength, false));
  }
  for (int i = 0; i < cmd.not_delivered_size(); ++i) {
    std::string f = domain::IndexedField("not_delivered", i);
    RETURN_IF_ERROR(report(f + ".item_id", cmd.not_delivered(i).item_id()));
    if (absl::Status st =
            ValidateText(f + ".reason", cmd.not_delivered(i).reason(), domain::kMaxTextLength);
        !st.ok()) {
      return absl::InvalidArgumentError(
          Cat(st.message(),
              "; say why the item was not delivered — billing holds its charge "
              "with this reason"));
    }
  }
  std::set<std::string> commitment_ids;
  for (int i = 0; i < cmd.commitments_size(); ++i) {
    std::string f = domain::IndexedField("commitments", i);
    const auto& c = cmd.commitments(i);
    RETURN_IF_ERROR(domain::ValidateId(f + ".commitment_id", c.commitment_id(), "cmt"));
    if (!commitment_ids.insert(c.commitment_id()).second) {
      return absl::InvalidArgumentError(Cat(f, ".commitment_id: ", c.commitment_id(),
                                            " is reported twice; report each commitment once"));
    }
    RETURN_IF_ERROR(ValidateText(f + ".reason", c.reason(), domain::kMaxTextLength,
                                 /*required=*/!c.kept()));
  }

  RETURN_IF_ERROR(RequireOpen(s));

  // The report against the scope: nothing unknown, nothing forgotten.
  std::set<std::string> scope_ids;
  for (const auto& item : s.scope) scope_ids.insert(item.item_id());
  for (const auto& [item_id, field] : reported) {
    if (!scope_ids.contains(item_id)) {
      return absl::InvalidArgumentError(Cat(field, ": item ", item_id,
                                            " is not in the scope of work order ", s.work_order_id,
                                            "; report only its scope items"));
    }
  }
  for (const auto& item : s.scope) {
    if (!reported.contains(item.item_id())) {
      return absl::InvalidArgumentError(
          Cat("scope item ", item.item_id(), " (", ItemLabel(item),
              ") is not reported; list every scope item in delivered or not_delivered"));
    }
  }
  std::set<std::string> known_commitments;
  for (const auto& c : s.commitments) known_commitments.insert(c.commitment_id());
  for (int i = 0; i < cmd.commitments_size(); ++i) {
    if (!known_commitments.contains(cmd.commitments(i).commitment_id())) {
      return absl::InvalidArgumentError(Cat(domain::IndexedField("commitments", i),
                                            ".commitment_id: ", cmd.commitments(i).commitment_id(),
                                            " is not a commitment of work order ", s.work_order_id,
                                            "; report only the commitments it carries"));
    }
  }

  v1::EventEnvelope e;
  auto* p = e.mutable_installation_completed();
  p->set_work_order_id(s.work_order_id);
  p->set_order_id(s.order_id);
  *p->mutable_delivered() = cmd.delivered();
  *p->mutable_not_delivered() = cmd.not_delivered();
  if (cmd.not_delivered_size() == 0) {
    p->set_outcome(v1::COMPLETION_OUTCOME_FULL);
  } else if (cmd.delivered_size() == 0) {
    p->set_outcome(v1::COMPLETION_OUTCOME_NONE);
  } else {
    p->set_outcome(v1::COMPLETION_OUTCOME_PARTIAL);
  }
  // Every commitment gets an outcome in scope order, so the journey never
  // shows a promise as "open" after the visit that was meant to keep it.
  std::string missing;
  for (const auto& item : s.scope) {
    for (const auto& nd : cmd.not_delivered()) {
      if (nd.item_id() == item.item_id())
        missing += (missing.empty() ? "" : ", ") + ItemLabel(item);
    }
  }
  for (const auto& c : s.commitments) {
    auto* out = p->add_commitments();
    out->set_commitment_id(c.commitment_id());
    bool reported_commitment = false;
    for (const auto& r : cmd.commitments()) {
      if (r.commitment_id() != c.commitment_id()) continue;
      out->set_kept(r.kept());
      out->set_reason(r.reason());
      reported_commitment = true;
    }
    if (!reported_commitment) {
      bool full = p->outcome() == v1::COMPLETION_OUTCOME_FULL;
      out->set_kept(full);
      if (!full) out->set_reason(Cat("not delivered: ", missing));
    }
  }
  return domain::Events{std::move(e)};
}

v1::WorkOrder ToView(const WorkOrderState& s) {
  v1::WorkOrder v;
  v.set_work_order_id(s.work_order_id);
  v.set_customer_id(s.customer_id);
  v.set_order_id(s.order_id);
  v.set_status(s.status);
  for (const auto& item : s.scope) *v.add_scope() = item;
  for (const auto& c : s.commitments) *v.add_commitments() = c;
  if (s.requested_window.has_start() || s.requested_window.has_end()) {
    *v.mutable_requested_window() = s.requested_window;
  }
  if (s.appointment) *v.mutable_appointment() = *s.appointment;
  v.set_technician_id(s.technician_id);
  v.set_technician_name(s.technician_name);
  for (const auto& d : s.delivered) *v.add_delivered() = d;
  for (const auto& n : s.not_delivered) *v.add_not_delivered() = n;
  v.set_version(s.version);
  v.set_outcome(s.outcome);
  for (const auto& c : s.commitment_outcomes) *v.add_commitment_outcomes() = c;
  return v;
}

// ---- Reactions ----

void Evolve(OrderIndex& index, const v1::EventEnvelope& e) {
  auto close = [&](const std::string& order_id, const std::string& work_order_id) {
    auto it = index.by_order.find(order_id);
    if (it == index.by_order.end()) return;
    for (auto& ref : it->second) {
      if (ref.work_order_id == work_order_id) ref.open = false;
    }
  };
  switch (e.payload_case()) {
    case v1::EventEnvelope::kWorkOrderCreated: {
      const auto& p = e.work_order_created();
      auto& refs = index.by_order[p.order_id()];
      for (const auto& ref : refs) {
        if (ref.work_order_id == p.work_order_id()) return;  // replayed event
      }
      refs.push_back({p.work_order_id(), e.customer_id(), true});
      break;
    }
    case v1::EventEnvelope::kInstallationCompleted:
      close(e.installation_completed().order_id(), e.installation_completed().work_order_id());
      break;
    case v1::EventEnvelope::kWorkOrderCancelled:
      close(e.work_order_cancelled().order_id(), e.work_order_cancelled().work_order_id());
      break;
    default:
      break;
  }
}

absl::StatusOr<domain::Events> ReactToOrderPlaced(const OrderIndex& index,
                                                  const v1::EventEnvelope& in,
                                                  const domain::CommandContext& ctx) {
  if (!in.has_order_placed()) {
    return absl::InvalidArgumentError(
        Cat("ReactToOrderPlaced got a ", domain::EventType(in), " event; pass OrderPlaced"));
  }
  if (in.customer_id().empty()) {
    return absl::InvalidArgumentError(
        Cat("OrderPlaced event ", in.event_id(), " has no customer_id; it cannot be routed"));
  }
  const auto& order = in.order_placed();
  if (index.by_order.contains(order.order_id())) return domain::Events{};

  v1::EventEnvelope e;
  e.set_customer_id(in.customer_id());
  auto* p = e.mutable_work_order_created();
  for (const auto& item : order.items()) {
    if (!item.needs_installation()) continue;
    auto* scope = p->add_scope();
    scope->set_item_id(item.item_id());
    scope->set_sku(item.sku());
    scope->set_description(item.description());
  }
  if (p->scope_size() == 0) return domain::Events{};
  p->set_work_order_id(ctx.new_id(kWorkOrderPrefix));
  p->set_order_id(order.order_id());
  for (const auto& c : order.commitments()) {
    if (c.owner() == v1::DEPARTMENT_INSTALLATION) *p->add_commitments() = c;
  }
  if (order.has_requested_installation()) {
    *p->mutable_requested_window() = order.requested_installation();
  }
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> ReactToOrderCancelled(const OrderIndex& index,
                                                     const v1::EventEnvelope& in,
                                                     const domain::CommandContext& ctx) {
  if (!in.has_order_cancelled()) {
    return absl::InvalidArgumentError(
        Cat("ReactToOrderCancelled got a ", domain::EventType(in), " event; pass OrderCancelled"));
  }
  const auto& cancelled = in.order_cancelled();
  domain::Events out;
  auto it = index.by_order.find(cancelled.order_id());
  if (it == index.by_order.end()) return out;
  for (const auto& ref : it->second) {
    if (!ref.open) continue;
    v1::EventEnvelope e;
    e.set_customer_id(ref.customer_id.empty() ? in.customer_id() : ref.customer_id);
    auto* p = e.mutable_work_order_cancelled();
    p->set_work_order_id(ref.work_order_id);
    p->set_order_id(cancelled.order_id());
    p->set_reason(cancelled.reason().empty() ? "order cancelled"
                                             : Cat("order cancelled: ", cancelled.reason()));
    out.push_back(std::move(e));
  }
  return out;
}

std::string WorkOrderIdOf(const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kWorkOrderCreated:
      return e.work_order_created().work_order_id();
    case v1::EventEnvelope::kAppointmentProposed:
      return e.appointment_proposed().work_order_id();
    case v1::EventEnvelope::kAppointmentConfirmed:
      return e.appointment_confirmed().work_order_id();
    case v1::EventEnvelope::kAppointmentDeclined:
      return e.appointment_declined().work_order_id();
    case v1::EventEnvelope::kTechnicianAssigned:
      return e.technician_assigned().work_order_id();
    case v1::EventEnvelope::kInstallationCompleted:
      return e.installation_completed().work_order_id();
    case v1::EventEnvelope::kWorkOrderCancelled:
      return e.work_order_cancelled().work_order_id();
    default:
      return "";
  }
}

}  // namespace threadline::installation
