#pragma once

// Billing domain: the account aggregate (one stream per customer) and the
// reactions that turn sales and installation events into charges.
//
// The rule that matters most: nothing is invoiced that was not delivered. A
// charge for an item that needs installation is scheduled HELD and becomes
// ACTIVE only when installation reports the item delivered; an undelivered
// item's charge stays held with the installer's reason, visible to everyone,
// so the customer never has to explain why they will not pay for it.
//
// Pure functions over plain values: thread-safe because they share nothing.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/domain/domain.h"
#include "threadline/v1/billing.pb.h"
#include "threadline/v1/installation.pb.h"
#include "threadline/v1/sales.pb.h"

namespace threadline::policy {
class Policy;
}

namespace threadline::billing {

inline constexpr std::string_view kAccountAggregate = "account";
inline constexpr std::string_view kChargePrefix = "chg";
inline constexpr std::string_view kInvoicePrefix = "inv";
inline constexpr std::string_view kPaymentPrefix = "pay";
inline constexpr std::string_view kCreditPrefix = "cr";
inline constexpr std::string_view kDisputePrefix = "dsp";

// Hold reason of a charge scheduled for an item that needs installation.
inline constexpr std::string_view kAwaitingInstallation = "awaiting installation";

// Who may give how much credit without asking: from the operator's policy
// (policy::Policy roles: credit_limit, credit_limit_per_30_days,
// approves_credits), passed to GrantCredit and ApproveCredit. Roles are the
// actor roles of the context, compared exactly (lower case by convention).
struct CreditPolicy {
  struct Limit {
    // Largest credit one grant may apply on its own, in minor units of
    // `currency`; std::nullopt means no limit.
    std::optional<int64_t> per_grant;
    std::string currency;  // of per_grant and per_30_days; "" with no limit
    // Most the role may credit one customer directly in any 30 days.
    std::optional<int64_t> per_30_days;
  };
  // A role not listed may apply none: its credits wait for approval.
  std::map<std::string, Limit> limits;
  // Roles that may approve pending credits.
  std::set<std::string> approvers;

  // From the policy's roles (src/credit_policy.cc, apart so that the pure
  // rules here build without the policy library).
  static CreditPolicy From(const policy::Policy& policy);
  // The shipped policy's: billing 50.00, support 20.00 EUR, supervisor and
  // admin unlimited; supervisor and admin approve. Front-line support can
  // settle a small complaint on the call instead of "I must ask my
  // supervisor".
  static CreditPolicy Defaults();
  // Whether `role` may apply `amount` at once, when it has already credited
  // this customer `last_30_days_minor` directly in the last 30 days. An
  // amount in another currency than the role's limit waits for approval.
  bool AppliesDirectly(const std::string& role, const v1::Money& amount,
                       int64_t last_30_days_minor = 0) const;
  bool MayApprove(const std::string& role) const { return approvers.contains(role); }
};

struct ChargeState {
  v1::Charge charge;                      // as the view shows it
  std::optional<TimePoint> activated_at;  // when delivered (or scheduled active)
  bool one_off_invoiced = false;
  // Periods whose monthly price was invoiced: [start, end).
  std::vector<std::pair<TimePoint, TimePoint>> monthly_invoiced;
  int64_t invoiced_minor = 0;  // everything invoiced for this charge
};

struct AccountState {
  bool exists = false;
  uint64_t version = 0;
  std::string customer_id;
  std::string currency;              // fixed by the first amount: one currency per account
  std::vector<ChargeState> charges;  // in scheduling order
  std::vector<v1::InvoiceIssued> invoices;
  std::vector<v1::Credit> credits;
  // Credits applied at once when granted, by role and time: the 30-day caps.
  struct DirectCredit {
    std::string role;
    TimePoint at;
    int64_t amount_minor = 0;
  };
  std::vector<DirectCredit> direct_credits;
  std::vector<v1::Dispute> disputes;
  int64_t balance_minor = 0;  // ApplyToBalance over the stream

  // Invoiced minus payments, applied credits and upheld disputes; positive:
  // the customer owes.
  int64_t BalanceMinor() const { return balance_minor; }
  const ChargeState* FindCharge(const std::string& charge_id) const;
  const v1::InvoiceIssued* FindInvoice(const std::string& invoice_id) const;
  const v1::Credit* FindCredit(const std::string& credit_id) const;
  // What `role` credited directly in (since, now]; saturates.
  int64_t CreditedDirectlySince(const std::string& role, TimePoint since) const;
  const v1::Dispute* FindDispute(const std::string& dispute_id) const;
};

void Evolve(AccountState& state, const v1::EventEnvelope& event);

// The balance rule, for the account and for everyone who folds billing's
// events (the journey's context card). BalanceAmount is what `event` moves
// the balance by, in the balance's currency: an invoice's total (the
// customer owes more); a payment, a credit applied when granted or when
// approved, what a resolved dispute credited (owes less); nullptr for every
// other event, a credit waiting for approval included. ApplyToBalance is
// `balance_minor` after `event`; it saturates at the int64 limits instead of
// overflowing, since events read from a topic are not validated again.
const v1::Money* BalanceAmount(const v1::EventEnvelope& event);
int64_t ApplyToBalance(int64_t balance_minor, const v1::EventEnvelope& event);

// Commands. Validation first (INVALID_ARGUMENT naming the field), then
// PERMISSION_DENIED, NOT_FOUND for a missing account or object, then
// FAILED_PRECONDITION; every message says what to do. An amount in another
// currency than the account's is FAILED_PRECONDITION.

// Invoices ACTIVE charges only: a one-off price once ever, a monthly price
// once per period for charges delivered before the period ends (no
// proration). An invoice with no lines is refused (FAILED_PRECONDITION): an
// "invoice of 0.00" for a customer whose items are all held only confuses
// them; a billing run treats that answer as "nothing to bill".
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const AccountState& state,
                                                    const v1::IssueInvoiceRequest& cmd,
                                                    const domain::CommandContext& ctx);
// amount > 0; invoice_id optional but must exist when given. Overpayment is
// allowed (the balance goes negative: the customer is in credit).
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const AccountState& state,
                                                    const v1::RecordPaymentRequest& cmd,
                                                    const domain::CommandContext& ctx);
// amount > 0; APPLIED when within the limit of ctx.actor.role(), otherwise
// PENDING_APPROVAL.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const AccountState& state,
                                                    const v1::GrantCreditRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const CreditPolicy& policy);
// Only approver roles (PERMISSION_DENIED otherwise); the credit must be
// pending.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const AccountState& state,
                                                    const v1::ApproveCreditRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const CreditPolicy& policy);
// A disputed amount must have been invoiced for that charge (and that
// invoice, when given) and not be disputed already.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const AccountState& state,
                                                    const v1::DisputeChargeRequest& cmd,
                                                    const domain::CommandContext& ctx);
// UPHELD credits the disputed amount; REJECTED needs a note for the customer.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const AccountState& state,
                                                    const v1::ResolveDisputeRequest& cmd,
                                                    const domain::CommandContext& ctx);

v1::Account ToView(const AccountState& state);

// ---- Reactions (sales, installation -> billing), on the customer's account ----

// OrderPlaced -> ChargeScheduled per item: HELD "awaiting installation" when
// the item needs installation, else ACTIVE. No events when the account
// already has charges for the order (a redelivered event).
// FAILED_PRECONDITION when the order's currency differs from the account's.
[[nodiscard]] absl::StatusOr<domain::Events> ReactToOrderPlaced(
    const AccountState& state, const v1::EventEnvelope& order_placed,
    const domain::CommandContext& ctx);
// InstallationCompleted -> ChargeActivated for delivered items' held
// charges, ChargeHeld (reason "not delivered: <installer's reason>") for the
// others. Idempotent. UNAVAILABLE when the order's charges are not scheduled
// yet (the OrderPlaced is still on its way on the sales topic): retry later.
[[nodiscard]] absl::StatusOr<domain::Events> ReactToInstallationCompleted(
    const AccountState& state, const v1::EventEnvelope& installation_completed,
    const domain::CommandContext& ctx);
// OrderCancelled -> ChargeCancelled for the order's charges never activated;
// delivered ones stay (ending them is a termination, not a cancellation).
[[nodiscard]] absl::StatusOr<domain::Events> ReactToOrderCancelled(
    const AccountState& state, const v1::EventEnvelope& order_cancelled,
    const domain::CommandContext& ctx);

}  // namespace threadline::billing
