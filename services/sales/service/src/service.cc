#include "threadline/sales/service.h"

#include "threadline/common/ids.h"
#include "threadline/domain/validate.h"
#include "threadline/sales/domain.h"

namespace threadline::sales {
namespace {

command::Target CustomerTarget(const std::string& customer_id) {
  return command::Target{"customer", customer_id, customer_id};
}

// The common path of every command on an existing customer.
template <typename Request, typename Response>
absl::StatusOr<Response> OnCustomer(const command::Env& env, const command::Invocation& inv,
                                    const Request& r) {
  RETURN_IF_ERROR(domain::ValidateId("customer_id", r.customer_id(), "cus"));
  return command::Run<CustomerState, Request, Response>(
      env, inv, r, CustomerTarget(r.customer_id()),
      [&](const CustomerState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); },
      [](Response& resp, const command::Outcome& o) { command::FillAck(o, resp.mutable_ack()); });
}

}  // namespace

absl::StatusOr<v1::RegisterCustomerResponse> SalesService::RegisterCustomer(
    const command::Invocation& inv, const v1::RegisterCustomerRequest& r) {
  // A fresh id per attempt; a retried request_id returns the first answer
  // (and its id) before this one is ever used.
  const std::string customer_id = NewId("cus", env_.clock ? *env_.clock : Clock::Real());
  return command::Run<CustomerState, v1::RegisterCustomerRequest, v1::RegisterCustomerResponse>(
      env_, inv, r, CustomerTarget(customer_id),
      [&](const CustomerState& s,
          const domain::CommandContext& ctx) -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(command::Decision d, Decide(s, r, ctx, customer_id));
        // Phone numbers and e-mails identify one customer: registering them
        // again for someone else is ALREADY_EXISTS naming the holder.
        for (const auto& e : d.events) {
          if (!e.has_customer_registered()) continue;
          for (const auto& p : e.customer_registered().phone_numbers()) {
            d.claims.push_back({kPhoneClaim, p, customer_id});
          }
          for (const auto& m : e.customer_registered().emails()) {
            d.claims.push_back({kEmailClaim, m, customer_id});
          }
        }
        return d;
      },
      [&](v1::RegisterCustomerResponse& resp, const command::Outcome& o) {
        resp.set_customer_id(customer_id);
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::PlaceOrderResponse> SalesService::PlaceOrder(const command::Invocation& inv,
                                                                const v1::PlaceOrderRequest& r) {
  RETURN_IF_ERROR(domain::ValidateId("customer_id", r.customer_id(), "cus"));
  return command::Run<CustomerState, v1::PlaceOrderRequest, v1::PlaceOrderResponse>(
      env_, inv, r, CustomerTarget(r.customer_id()),
      [&](const CustomerState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); },
      [](v1::PlaceOrderResponse& resp, const command::Outcome& o) {
        for (const auto& e : o.events) {
          if (!e.has_order_placed()) continue;
          resp.set_order_id(e.order_placed().order_id());
          for (const auto& i : e.order_placed().items()) resp.add_item_ids(i.item_id());
          for (const auto& c : e.order_placed().commitments()) {
            resp.add_commitment_ids(c.commitment_id());
          }
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::CancelOrderResponse> SalesService::CancelOrder(const command::Invocation& inv,
                                                                  const v1::CancelOrderRequest& r) {
  return OnCustomer<v1::CancelOrderRequest, v1::CancelOrderResponse>(env_, inv, r);
}

absl::StatusOr<v1::SwitchProductResponse> SalesService::SwitchProduct(
    const command::Invocation& inv, const v1::SwitchProductRequest& r) {
  return OnCustomer<v1::SwitchProductRequest, v1::SwitchProductResponse>(env_, inv, r);
}

absl::StatusOr<v1::LogContactResponse> SalesService::LogContact(const command::Invocation& inv,
                                                                const v1::LogContactRequest& r) {
  return OnCustomer<v1::LogContactRequest, v1::LogContactResponse>(env_, inv, r);
}

}  // namespace threadline::sales
