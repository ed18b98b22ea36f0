#pragma once

// The billing department as a service: accounts over gRPC (BillingService)
// and the reactions that schedule, activate, hold and cancel charges from
// sales' and installation's events. README.md has the reasoning.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/billing/domain.h"
#include "threadline/command/department.h"
#include "threadline/command/reactor.h"
#include "threadline/command/runner.h"
#include "threadline/policy/holder.h"
#include "threadline/v1/billing.grpc.pb.h"

namespace threadline::billing {

// Consumers under which the two reactions store their offsets. Two
// reactors, not one over both topics: an InstallationCompleted that waits
// for its order's charges (UNAVAILABLE, retried) must not hold up the sales
// topic that brings those charges.
inline constexpr char kSalesConsumer[] = "billing.sales";
inline constexpr char kInstallationConsumer[] = "billing.installation";

// Orders whose charges could not be scheduled (an order in another
// currency than the account's): claim value the order id, owner the
// customer. Their InstallationCompleted is parked too instead of waiting
// forever for charges that will never come.
inline constexpr char kParkedOrders[] = "billing_parked_order";

// Billing command and query logic over an event store; no server wiring.
// Thread-safe; the store (and clock) must outlive it.
class BillingService {
 public:
  // `policy` (the operator's, reloaded on SIGHUP: credit limits and who
  // approves) must outlive the service; null: the shipped defaults.
  explicit BillingService(command::Env env, const policy::Holder* policy = nullptr)
      : env_(std::move(env)), policy_(policy) {}

  absl::StatusOr<v1::IssueInvoiceResponse> IssueInvoice(const command::Invocation& inv,
                                                        const v1::IssueInvoiceRequest& r);
  absl::StatusOr<v1::RecordPaymentResponse> RecordPayment(const command::Invocation& inv,
                                                          const v1::RecordPaymentRequest& r);
  // The caller's role (inv.actor.role) decides, with the CreditPolicy,
  // whether the credit applies at once or waits for approval.
  absl::StatusOr<v1::GrantCreditResponse> GrantCredit(const command::Invocation& inv,
                                                      const v1::GrantCreditRequest& r);
  absl::StatusOr<v1::ApproveCreditResponse> ApproveCredit(const command::Invocation& inv,
                                                          const v1::ApproveCreditRequest& r);
  absl::StatusOr<v1::DisputeChargeResponse> DisputeCharge(const command::Invocation& inv,
                                                          const v1::DisputeChargeRequest& r);
  absl::StatusOr<v1::ResolveDisputeResponse> ResolveDispute(const command::Invocation& inv,
                                                            const v1::ResolveDisputeRequest& r);
  // NOT_FOUND when the customer has no account yet (it opens with the first
  // order billing sees).
  absl::StatusOr<v1::Account> GetAccount(const v1::GetAccountRequest& r);

 private:
  std::shared_ptr<const policy::Policy> Policy() const;

  command::Env env_;
  const policy::Holder* policy_;
};

// The gRPC face of BillingService: authenticates, authorises, converts.
std::unique_ptr<grpc::Service> NewBillingGrpc(BillingService* service);

// Reactions given up on: input no retry can fix (an order in a second
// currency). Each is logged at error level with the event id and counted
// here; the partition moves on. Thread-safe.
using ReactionCounters = command::ReactionCounters;

// Reaction to sales' events: OrderPlaced -> ChargeScheduled (held when the
// item needs installation), OrderCancelled -> ChargeCancelled. For a
// command::Reactor on threadline.sales.v1 built with the same env.
command::ReactFn NewSalesReaction(command::Env env, ReactionCounters* counters = nullptr);
command::ReactorOptions SalesReactorOptions();

// Reaction to installation's events: InstallationCompleted activates the
// delivered items' charges and keeps the others held with the installer's
// reason. UNAVAILABLE while the order's charges have not arrived: the
// reactor retries the message from its stored offset. For a command::Reactor
// on threadline.installation.v1 built with the same env.
command::ReactFn NewInstallationReaction(command::Env env, ReactionCounters* counters = nullptr);
command::ReactorOptions InstallationReactorOptions();

// Billing as the suite runs it: the gRPC service and both reactors.
std::unique_ptr<command::Department> NewBillingDepartment(const command::DepartmentDeps& deps);

}  // namespace threadline::billing
