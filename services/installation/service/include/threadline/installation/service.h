#pragma once

// The installation department as a service: work orders over gRPC
// (InstallationService) and the reaction to sales' events that creates and
// cancels them (NewSalesReaction). README.md has the indexes and the
// reasoning.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/command/department.h"
#include "threadline/command/reactor.h"
#include "threadline/command/runner.h"
#include "threadline/installation/domain.h"
#include "threadline/v1/installation.grpc.pb.h"

namespace threadline::installation {

// Secondary indexes kept as store claims, written in the same append as the
// WorkOrderCreated they index: value "<order_id>/<work_order_id>" (resp.
// "<customer_id>/<work_order_id>"), owner the work order id. A prefix scan
// lists the work orders of one order (or customer) without reading anyone
// else's streams.
inline constexpr char kWorkOrdersByOrder[] = "wo_by_order";
inline constexpr char kWorkOrdersByCustomer[] = "wo_by_customer";

// Most work orders ListWorkOrders returns (and the reaction reads for one
// order); a customer with more is far outside what the domain produces (one
// work order per order that needs installation).
inline constexpr size_t kMaxListedWorkOrders = 500;

// Consumer name under which the sales reaction stores its offsets.
inline constexpr char kSalesConsumer[] = "installation.sales";

// Installation command and query logic over an event store; no server
// wiring. Thread-safe; the store (and clock) must outlive it.
class InstallationService {
 public:
  explicit InstallationService(command::Env env) : env_(std::move(env)) {}

  absl::StatusOr<v1::ProposeAppointmentResponse> ProposeAppointment(
      const command::Invocation& inv, const v1::ProposeAppointmentRequest& r);
  absl::StatusOr<v1::ConfirmAppointmentResponse> ConfirmAppointment(
      const command::Invocation& inv, const v1::ConfirmAppointmentRequest& r);
  absl::StatusOr<v1::DeclineAppointmentResponse> DeclineAppointment(
      const command::Invocation& inv, const v1::DeclineAppointmentRequest& r);
  absl::StatusOr<v1::AssignTechnicianResponse> AssignTechnician(
      const command::Invocation& inv, const v1::AssignTechnicianRequest& r);
  absl::StatusOr<v1::CompleteInstallationResponse> CompleteInstallation(
      const command::Invocation& inv, const v1::CompleteInstallationRequest& r);

  // NOT_FOUND for an unknown work order.
  absl::StatusOr<v1::WorkOrder> GetWorkOrder(const v1::GetWorkOrderRequest& r);
  // Exactly one of customer_id or order_id (INVALID_ARGUMENT otherwise); an
  // empty list when none match. Oldest first.
  absl::StatusOr<v1::ListWorkOrdersResponse> ListWorkOrders(const v1::ListWorkOrdersRequest& r);

 private:
  command::Env env_;
};

// The gRPC face of InstallationService: authenticates, authorises, converts.
std::unique_ptr<grpc::Service> NewInstallationGrpc(InstallationService* service);

// Reactions given up on: input no retry can fix (an OrderPlaced without a
// customer, say). Each is logged at error level with the event id and
// counted here; the partition moves on. Thread-safe.
using ReactionCounters = command::ReactionCounters;

// Reaction to sales' events: OrderPlaced -> WorkOrderCreated (with its index
// claims), OrderCancelled -> WorkOrderCancelled for the order's open work
// orders. Idempotent under re-delivery. For a command::Reactor on
// threadline.sales.v1 built with the same env; env.store and `counters`
// (may be null) must outlive it.
command::ReactFn NewSalesReaction(command::Env env, ReactionCounters* counters = nullptr);
command::ReactorOptions SalesReactorOptions();

// Installation as the suite runs it: the gRPC service and the sales reactor.
std::unique_ptr<command::Department> NewInstallationDepartment(const command::DepartmentDeps& deps);

}  // namespace threadline::installation
