#pragma once

// Installation domain: the work order aggregate (one stream per work order)
// and the reactions that turn sales events into work orders.
//
// A work order carries exactly the scope and the commitments sales promised,
// so the installer sees what the customer was told; an appointment binds
// nobody until the customer confirms it; completion reports every scope item
// as delivered or not (with a reason), and every installation commitment as
// kept or broken, so billing and the journey know what really happened.
//
// Pure functions over plain values: thread-safe because they share nothing.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/domain/domain.h"
#include "threadline/v1/installation.pb.h"
#include "threadline/v1/sales.pb.h"

namespace threadline::installation {

// envelope.aggregate_type of every installation event.
inline constexpr std::string_view kWorkOrderAggregate = "work_order";
// Id prefixes (NewId): work orders and appointments.
inline constexpr std::string_view kWorkOrderPrefix = "wo";
inline constexpr std::string_view kAppointmentPrefix = "apt";

// One work order, folded from its stream.
struct WorkOrderState {
  bool exists = false;
  uint64_t version = 0;
  std::string work_order_id;
  std::string customer_id;  // from the envelopes
  std::string order_id;
  v1::WorkOrderStatus status = v1::WORK_ORDER_STATUS_UNSPECIFIED;
  std::vector<v1::ScopeItem> scope;
  std::vector<v1::Commitment> commitments;
  v1::TimeWindow requested_window;
  // The latest proposal and the customer's answer to it; absent until the
  // first proposal.
  std::optional<v1::Appointment> appointment;
  std::string technician_id;
  std::string technician_name;
  v1::CompletionOutcome outcome = v1::COMPLETION_OUTCOME_UNSPECIFIED;
  std::vector<v1::DeliveredItem> delivered;
  std::vector<v1::UndeliveredItem> not_delivered;
  std::vector<v1::CommitmentOutcome> commitment_outcomes;

  // Completed or cancelled: accepts no further commands.
  bool closed() const;
};

void Evolve(WorkOrderState& state, const v1::EventEnvelope& event);

// Commands. Validation first (INVALID_ARGUMENT naming the field), then
// NOT_FOUND for an unknown work order, then FAILED_PRECONDITION when the
// work order's state forbids the command; every message says what to do.

// Proposes a slot (in the future) to the customer via ctx.channel. Replaces
// an unconfirmed proposal; a confirmed appointment must first be declined by
// the customer, so no date the customer agreed to is moved behind their back.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const WorkOrderState& state,
                                                    const v1::ProposeAppointmentRequest& cmd,
                                                    const domain::CommandContext& ctx);
// The customer's yes to the current proposal; only then is it binding.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const WorkOrderState& state,
                                                    const v1::ConfirmAppointmentRequest& cmd,
                                                    const domain::CommandContext& ctx);
// The customer's no to the current proposal, or withdrawal of a confirmed
// appointment ("I can't make Tuesday after all").
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const WorkOrderState& state,
                                                    const v1::DeclineAppointmentRequest& cmd,
                                                    const domain::CommandContext& ctx);
// Assigns (or reassigns) the technician.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const WorkOrderState& state,
                                                    const v1::AssignTechnicianRequest& cmd,
                                                    const domain::CommandContext& ctx);
// Reports the visit: every scope item exactly once as delivered or not
// delivered (with a reason); the outcome (FULL/PARTIAL/NONE) is computed.
// Commitments not reported are kept when everything was delivered, otherwise
// broken with reason "not delivered: <items>".
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const WorkOrderState& state,
                                                    const v1::CompleteInstallationRequest& cmd,
                                                    const domain::CommandContext& ctx);

v1::WorkOrder ToView(const WorkOrderState& state);

// ---- Reactions (sales -> installation) ----

// What installation remembers per sales order, folded from installation's
// own events (WorkOrderCreated, InstallationCompleted, WorkOrderCancelled):
// makes the reactions idempotent and finds the work orders of an order.
struct OrderIndex {
  struct WorkOrderRef {
    std::string work_order_id;
    std::string customer_id;
    bool open = true;
  };
  std::map<std::string, std::vector<WorkOrderRef>> by_order;  // order_id -> work orders
};

void Evolve(OrderIndex& index, const v1::EventEnvelope& event);

// OrderPlaced (customer from the envelope) -> WorkOrderCreated when any item
// needs installation: scope = those items, commitments = every commitment
// owned by DEPARTMENT_INSTALLATION, the requested window carried over. No
// events when no item needs installation or the order already has a work
// order (a redelivered OrderPlaced). The output envelopes also carry
// customer_id, which the payload cannot. INVALID_ARGUMENT when the input is
// not an OrderPlaced with a customer.
[[nodiscard]] absl::StatusOr<domain::Events> ReactToOrderPlaced(
    const OrderIndex& index, const v1::EventEnvelope& order_placed,
    const domain::CommandContext& ctx);
// OrderCancelled -> WorkOrderCancelled for every open work order of the
// order; none for closed ones or an order without work orders.
[[nodiscard]] absl::StatusOr<domain::Events> ReactToOrderCancelled(
    const OrderIndex& index, const v1::EventEnvelope& order_cancelled,
    const domain::CommandContext& ctx);

// The work order an installation event belongs to (its payload names it);
// empty for other events.
std::string WorkOrderIdOf(const v1::EventEnvelope& event);

}  // namespace threadline::installation
