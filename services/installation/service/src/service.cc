#include "threadline/installation/service.h"

#include "threadline/domain/validate.h"

namespace threadline::installation {
namespace {

std::string Stream(const std::string& work_order_id) {
  return std::string(kWorkOrderAggregate) + "-" + work_order_id;
}

// The common path of every command on a work order.
template <typename Request, typename Response, typename RespondFn>
absl::StatusOr<Response> OnWorkOrder(const command::Env& env, const command::Invocation& inv,
                                     const Request& r, RespondFn respond) {
  // command::Run checks it too, but only after the work order id: a request
  // without an id is answered as such, whatever else it lacks. The work
  // order's customer comes from its state; an unknown work order is the
  // domain's NOT_FOUND.
  RETURN_IF_ERROR(domain::ValidateRequestId(r.request_id()));
  RETURN_IF_ERROR(domain::ValidateId("work_order_id", r.work_order_id(), kWorkOrderPrefix));
  return command::Run<WorkOrderState, Request, Response>(
      env, inv, r, command::Target{std::string(kWorkOrderAggregate), r.work_order_id(), ""},
      [&](const WorkOrderState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); },
      respond);
}

template <typename Response>
void AckOnly(Response& resp, const command::Outcome& o) {
  command::FillAck(o, resp.mutable_ack());
}

absl::StatusOr<v1::WorkOrder> LoadView(eventstore::EventStore& store,
                                       const std::string& work_order_id) {
  ASSIGN_OR_RETURN(auto state, command::Load<WorkOrderState>(store, Stream(work_order_id),
                                                             "work order " + work_order_id));
  return ToView(state);
}

}  // namespace

absl::StatusOr<v1::ProposeAppointmentResponse> InstallationService::ProposeAppointment(
    const command::Invocation& inv, const v1::ProposeAppointmentRequest& r) {
  return OnWorkOrder<v1::ProposeAppointmentRequest, v1::ProposeAppointmentResponse>(
      env_, inv, r, [](v1::ProposeAppointmentResponse& resp, const command::Outcome& o) {
        for (const auto& e : o.events) {
          if (e.has_appointment_proposed()) {
            resp.set_appointment_id(e.appointment_proposed().appointment_id());
          }
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::ConfirmAppointmentResponse> InstallationService::ConfirmAppointment(
    const command::Invocation& inv, const v1::ConfirmAppointmentRequest& r) {
  return OnWorkOrder<v1::ConfirmAppointmentRequest, v1::ConfirmAppointmentResponse>(
      env_, inv, r, AckOnly<v1::ConfirmAppointmentResponse>);
}

absl::StatusOr<v1::DeclineAppointmentResponse> InstallationService::DeclineAppointment(
    const command::Invocation& inv, const v1::DeclineAppointmentRequest& r) {
  return OnWorkOrder<v1::DeclineAppointmentRequest, v1::DeclineAppointmentResponse>(
      env_, inv, r, AckOnly<v1::DeclineAppointmentResponse>);
}

absl::StatusOr<v1::AssignTechnicianResponse> InstallationService::AssignTechnician(
    const command::Invocation& inv, const v1::AssignTechnicianRequest& r) {
  return OnWorkOrder<v1::AssignTechnicianRequest, v1::AssignTechnicianResponse>(
      env_, inv, r, AckOnly<v1::AssignTechnicianResponse>);
}

absl::StatusOr<v1::CompleteInstallationResponse> InstallationService::CompleteInstallation(
    const command::Invocation& inv, const v1::CompleteInstallationRequest& r) {
  return OnWorkOrder<v1::CompleteInstallationRequest, v1::CompleteInstallationResponse>(
      env_, inv, r, [](v1::CompleteInstallationResponse& resp, const command::Outcome& o) {
        for (const auto& e : o.events) {
          if (e.has_installation_completed()) {
            resp.set_outcome(e.installation_completed().outcome());
          }
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::WorkOrder> InstallationService::GetWorkOrder(const v1::GetWorkOrderRequest& r) {
  RETURN_IF_ERROR(domain::ValidateId("work_order_id", r.work_order_id(), kWorkOrderPrefix));
  auto view = LoadView(*env_.store, r.work_order_id());
  if (absl::IsNotFound(view.status())) {
    return absl::NotFoundError("work order " + r.work_order_id() +
                               " not found; work orders are created from orders that need "
                               "installation — list them by customer or order (ListWorkOrders)");
  }
  return view;
}

absl::StatusOr<v1::ListWorkOrdersResponse> InstallationService::ListWorkOrders(
    const v1::ListWorkOrdersRequest& r) {
  const bool by_customer = !r.customer_id().empty();
  const bool by_order = !r.order_id().empty();
  if (by_customer == by_order) {
    return absl::InvalidArgumentError(
        "customer_id, order_id: set exactly one of them — the work orders of a customer, or of "
        "one order");
  }
  if (by_customer) RETURN_IF_ERROR(domain::ValidateId("customer_id", r.customer_id(), "cus"));
  if (by_order) RETURN_IF_ERROR(domain::ValidateId("order_id", r.order_id(), "ord"));
  const char* index = by_customer ? kWorkOrdersByCustomer : kWorkOrdersByOrder;
  const std::string prefix = (by_customer ? r.customer_id() : r.order_id()) + "/";
  ASSIGN_OR_RETURN(auto claims, env_.store->ScanClaims(index, prefix, kMaxListedWorkOrders));
  v1::ListWorkOrdersResponse resp;
  // Claim values end in the work order id, whose time-ordered form makes
  // the scan oldest first.
  for (const auto& [value, work_order_id] : claims) {
    ASSIGN_OR_RETURN(*resp.add_work_orders(), LoadView(*env_.store, work_order_id));
  }
  return resp;
}

}  // namespace threadline::installation
