#include "threadline/billing/service.h"

#include "threadline/domain/validate.h"

namespace threadline::billing {
namespace {

command::Target AccountTarget(const std::string& customer_id) {
  return command::Target{std::string(kAccountAggregate), customer_id, customer_id};
}

// The common path of every command on an account. `decide` picks the
// domain's Decide overload (some take the credit policy).
template <typename Request, typename Response, typename DecideFn, typename RespondFn>
absl::StatusOr<Response> OnAccount(const command::Env& env, const command::Invocation& inv,
                                   const Request& r, DecideFn decide, RespondFn respond) {
  // The request id first, as command::Run would (a request without one is
  // answered as such), then the customer id, before a stream name is built
  // from it.
  RETURN_IF_ERROR(domain::ValidateRequestId(r.request_id()));
  RETURN_IF_ERROR(domain::ValidateId("customer_id", r.customer_id(), "cus"));
  return command::Run<AccountState, Request, Response>(env, inv, r, AccountTarget(r.customer_id()),
                                                       decide, respond);
}

template <typename Request>
auto Plain(const Request& r) {
  return
      [&r](const AccountState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); };
}

template <typename Response>
void AckOnly(Response& resp, const command::Outcome& o) {
  command::FillAck(o, resp.mutable_ack());
}

}  // namespace

absl::StatusOr<v1::IssueInvoiceResponse> BillingService::IssueInvoice(
    const command::Invocation& inv, const v1::IssueInvoiceRequest& r) {
  return OnAccount<v1::IssueInvoiceRequest, v1::IssueInvoiceResponse>(
      env_, inv, r, Plain(r), [](v1::IssueInvoiceResponse& resp, const command::Outcome& o) {
        for (const auto& e : o.events) {
          if (!e.has_invoice_issued()) continue;
          resp.set_invoice_id(e.invoice_issued().invoice_id());
          *resp.mutable_total() = e.invoice_issued().total();
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::RecordPaymentResponse> BillingService::RecordPayment(
    const command::Invocation& inv, const v1::RecordPaymentRequest& r) {
  return OnAccount<v1::RecordPaymentRequest, v1::RecordPaymentResponse>(
      env_, inv, r, Plain(r), [](v1::RecordPaymentResponse& resp, const command::Outcome& o) {
        for (const auto& e : o.events) {
          if (e.has_payment_recorded()) resp.set_payment_id(e.payment_recorded().payment_id());
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

std::shared_ptr<const policy::Policy> BillingService::Policy() const {
  static const policy::Holder* defaults = new policy::Holder();
  return (policy_ != nullptr ? policy_ : defaults)->Get();
}

absl::StatusOr<v1::GrantCreditResponse> BillingService::GrantCredit(
    const command::Invocation& inv, const v1::GrantCreditRequest& r) {
  return OnAccount<v1::GrantCreditRequest, v1::GrantCreditResponse>(
      env_, inv, r,
      [&](const AccountState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, CreditPolicy::From(*Policy()));
      },
      [](v1::GrantCreditResponse& resp, const command::Outcome& o) {
        for (const auto& e : o.events) {
          if (!e.has_credit_granted()) continue;
          resp.set_credit_id(e.credit_granted().credit_id());
          resp.set_status(e.credit_granted().status());
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::ApproveCreditResponse> BillingService::ApproveCredit(
    const command::Invocation& inv, const v1::ApproveCreditRequest& r) {
  return OnAccount<v1::ApproveCreditRequest, v1::ApproveCreditResponse>(
      env_, inv, r,
      [&](const AccountState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, CreditPolicy::From(*Policy()));
      },
      AckOnly<v1::ApproveCreditResponse>);
}

absl::StatusOr<v1::DisputeChargeResponse> BillingService::DisputeCharge(
    const command::Invocation& inv, const v1::DisputeChargeRequest& r) {
  return OnAccount<v1::DisputeChargeRequest, v1::DisputeChargeResponse>(
      env_, inv, r, Plain(r), [](v1::DisputeChargeResponse& resp, const command::Outcome& o) {
        for (const auto& e : o.events) {
          if (e.has_charge_disputed()) resp.set_dispute_id(e.charge_disputed().dispute_id());
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::ResolveDisputeResponse> BillingService::ResolveDispute(
    const command::Invocation& inv, const v1::ResolveDisputeRequest& r) {
  return OnAccount<v1::ResolveDisputeRequest, v1::ResolveDisputeResponse>(
      env_, inv, r, Plain(r), AckOnly<v1::ResolveDisputeResponse>);
}

absl::StatusOr<v1::Account> BillingService::GetAccount(const v1::GetAccountRequest& r) {
  RETURN_IF_ERROR(domain::ValidateId("customer_id", r.customer_id(), "cus"));
  ASSIGN_OR_RETURN(auto events, env_.store->ReadStream(AccountTarget(r.customer_id()).Stream()));
  if (events.empty()) {
    return absl::NotFoundError("no billing account for customer " + r.customer_id() +
                               "; an account opens with the customer's first order — check the "
                               "customer_id, or retry shortly after placing the order");
  }
  AccountState state;
  for (const auto& e : events) Evolve(state, e);
  return ToView(state);
}

}  // namespace threadline::billing
