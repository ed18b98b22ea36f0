#include "threadline/billing/domain.h"

#include <algorithm>

#include "threadline/common/status.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/roles.h"
#include "threadline/domain/validate.h"

namespace threadline::billing {
namespace {

using domain::Cat;
using domain::FromProto;
using domain::ToProto;
using domain::ValidateText;

// When an event happened in the world; events decided "now" carry no
// occurred_at until the service stamps them, and count as the beginning of
// time, which only ever makes a charge invoiceable earlier in tests.
TimePoint TimeOf(const v1::EventEnvelope& e) {
  return e.has_occurred_at() ? FromProto(e.occurred_at()) : TimePoint{};
}

v1::Money Money(int64_t amount_minor, const std::string& currency) {
  v1::Money m;
  m.set_amount_minor(amount_minor);
  m.set_currency(currency);
  return m;
}

// "12.50 EUR" for messages; minor units shown as two decimals, which is right
// for most currencies and only cosmetic for the others.
std::string Show(int64_t amount_minor, const std::string& currency) {
  std::string sign = amount_minor < 0 ? "-" : "";
  int64_t abs = amount_minor < 0 ? -amount_minor : amount_minor;
  int64_t cents = abs % 100;
  return Cat(sign, abs / 100, ".", cents < 10 ? "0" : "", cents, " ", currency);
}

void AdoptCurrency(AccountState& s, const v1::Money& m) {
  if (s.currency.empty() && !m.currency().empty()) s.currency = m.currency();
}

ChargeState* FindMutableCharge(AccountState& s, const std::string& charge_id) {
  for (auto& c : s.charges) {
    if (c.charge.charge_id() == charge_id) return &c;
  }
  return nullptr;
}

absl::Status ValidateCustomer(const std::string& customer_id) {
  return domain::ValidateId("customer_id", customer_id, "cus");
}

absl::Status RequireAccount(const AccountState& s) {
  if (!s.exists) {
    return absl::NotFoundError(
        "no billing account for this customer; an account opens with the customer's first "
        "order — check the customer_id");
  }
  return absl::OkStatus();
}

absl::Status RequireCurrency(const AccountState& s, std::string_view field, const v1::Money& m) {
  if (!s.currency.empty() && m.currency() != s.currency) {
    return absl::FailedPreconditionError(Cat(field, ".currency: the account bills in ", s.currency,
                                             ", not ", m.currency(), "; convert the amount to ",
                                             s.currency, " (one currency per account)"));
  }
  return absl::OkStatus();
}

bool Overlaps(const std::pair<TimePoint, TimePoint>& a, TimePoint start, TimePoint end) {
  return a.first < end && start < a.second;
}

int64_t DisputedSoFar(const AccountState& s, const std::string& charge_id,
                      const std::string& invoice_id) {
  int64_t sum = 0;
  for (const auto& d : s.disputes) {
    if (d.charge_id() != charge_id) continue;
    if (!invoice_id.empty() && d.invoice_id() != invoice_id) continue;
    if (d.open() || d.outcome() == v1::DISPUTE_OUTCOME_UPHELD) sum += d.amount().amount_minor();
  }
  return sum;
}

// A reaction happened when its cause did, not when billing noticed: charges
// are scheduled when ordered and move when delivered. The journey folds a
// card in occurred_at order, so a charge scheduled late (billing's consumer
// behind) and activated at the visit would otherwise fold out of order.
void StampAsCause(const v1::EventEnvelope& cause, const domain::CommandContext& ctx,
                  v1::EventEnvelope& e) {
  if (cause.has_occurred_at() && FromProto(cause.occurred_at()) != ctx.now) {
    *e.mutable_occurred_at() = cause.occurred_at();
  }
}

}  // namespace

// ---- CreditPolicy ----

bool CreditPolicy::AppliesDirectly(const std::string& role, const v1::Money& amount,
                                   int64_t last_30_days_minor) const {
  auto it = limits.find(role);
  if (it == limits.end()) return false;
  const Limit& limit = it->second;
  if (!limit.currency.empty() && amount.currency() != limit.currency) return false;
  if (limit.per_grant && amount.amount_minor() > *limit.per_grant) return false;
  if (limit.per_30_days) {
    // Compared without overflow: both are validated non-negative amounts.
    if (last_30_days_minor > *limit.per_30_days ||
        amount.amount_minor() > *limit.per_30_days - last_30_days_minor) {
      return false;
    }
  }
  return true;
}

// ---- AccountState ----

int64_t AccountState::CreditedDirectlySince(const std::string& role, TimePoint since) const {
  int64_t sum = 0;
  for (const auto& c : direct_credits) {
    if (c.role != role || c.at <= since) continue;
    sum = c.amount_minor > INT64_MAX - sum ? INT64_MAX : sum + c.amount_minor;
  }
  return sum;
}

const ChargeState* AccountState::FindCharge(const std::string& charge_id) const {
  for (const auto& c : charges) {
    if (c.charge.charge_id() == charge_id) return &c;
  }
  return nullptr;
}

const v1::InvoiceIssued* AccountState::FindInvoice(const std::string& invoice_id) const {
  for (const auto& i : invoices) {
    if (i.invoice_id() == invoice_id) return &i;
  }
  return nullptr;
}

const v1::Credit* AccountState::FindCredit(const std::string& credit_id) const {
  for (const auto& c : credits) {
    if (c.credit_id() == credit_id) return &c;
  }
  return nullptr;
}

const v1::Dispute* AccountState::FindDispute(const std::string& dispute_id) const {
  for (const auto& d : disputes) {
    if (d.dispute_id() == dispute_id) return &d;
  }
  return nullptr;
}

// ---- Balance ----

const v1::Money* BalanceAmount(const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kInvoiceIssued:
      return &e.invoice_issued().total();
    case v1::EventEnvelope::kPaymentRecorded:
      return &e.payment_recorded().amount();
    case v1::EventEnvelope::kCreditGranted:
      return e.credit_granted().status() == v1::CREDIT_STATUS_APPLIED ? &e.credit_granted().amount()
                                                                      : nullptr;
    case v1::EventEnvelope::kCreditApproved:
      return &e.credit_approved().amount();
    case v1::EventEnvelope::kDisputeResolved:
      // Zero for a rejected dispute.
      return &e.dispute_resolved().credited();
    default:
      return nullptr;
  }
}

int64_t ApplyToBalance(int64_t balance_minor, const v1::EventEnvelope& e) {
  const v1::Money* amount = BalanceAmount(e);
  if (amount == nullptr) return balance_minor;
  const bool owes_more = e.has_invoice_issued();
  const int64_t b = amount->amount_minor();
  int64_t out;
  bool overflow = owes_more ? __builtin_add_overflow(balance_minor, b, &out)
                            : __builtin_sub_overflow(balance_minor, b, &out);
  if (!overflow) return out;
  return owes_more == (b > 0) ? INT64_MAX : INT64_MIN;
}

// ---- Evolve ----

void Evolve(AccountState& s, const v1::EventEnvelope& e) {
  s.balance_minor = ApplyToBalance(s.balance_minor, e);
  switch (e.payload_case()) {
    case v1::EventEnvelope::kChargeScheduled: {
      const auto& p = e.charge_scheduled();
      s.exists = true;
      if (s.customer_id.empty()) s.customer_id = e.customer_id();
      if (FindMutableCharge(s, p.charge_id()) != nullptr) break;  // already known
      ChargeState c;
      c.charge.set_charge_id(p.charge_id());
      c.charge.set_order_id(p.order_id());
      c.charge.set_item_id(p.item_id());
      c.charge.set_sku(p.sku());
      c.charge.set_description(p.description());
      *c.charge.mutable_one_off() = p.one_off();
      *c.charge.mutable_monthly() = p.monthly();
      c.charge.set_status(p.status());
      c.charge.set_hold_reason(p.hold_reason());
      if (p.status() == v1::CHARGE_STATUS_ACTIVE) c.activated_at = TimeOf(e);
      AdoptCurrency(s, p.one_off());
      AdoptCurrency(s, p.monthly());
      s.charges.push_back(std::move(c));
      break;
    }
    case v1::EventEnvelope::kChargeActivated:
      if (ChargeState* c = FindMutableCharge(s, e.charge_activated().charge_id())) {
        c->charge.set_status(v1::CHARGE_STATUS_ACTIVE);
        c->charge.clear_hold_reason();
        if (!c->activated_at) c->activated_at = TimeOf(e);
      }
      break;
    case v1::EventEnvelope::kChargeHeld:
      if (ChargeState* c = FindMutableCharge(s, e.charge_held().charge_id())) {
        c->charge.set_status(v1::CHARGE_STATUS_HELD);
        c->charge.set_hold_reason(e.charge_held().reason());
      }
      break;
    case v1::EventEnvelope::kChargeCancelled:
      if (ChargeState* c = FindMutableCharge(s, e.charge_cancelled().charge_id())) {
        c->charge.set_status(v1::CHARGE_STATUS_CANCELLED);
      }
      break;
    case v1::EventEnvelope::kInvoiceIssued: {
      const auto& p = e.invoice_issued();
      s.invoices.push_back(p);
      AdoptCurrency(s, p.total());
      std::pair<TimePoint, TimePoint> period{FromProto(p.period().start()),
                                             FromProto(p.period().end())};
      for (const auto& line : p.lines()) {
        ChargeState* c = FindMutableCharge(s, line.charge_id());
        if (c == nullptr) continue;
        c->invoiced_minor += line.amount().amount_minor();
        if (line.kind() == v1::CHARGE_KIND_ONE_OFF) c->one_off_invoiced = true;
        if (line.kind() == v1::CHARGE_KIND_MONTHLY) c->monthly_invoiced.push_back(period);
      }
      break;
    }
    case v1::EventEnvelope::kPaymentRecorded:
      AdoptCurrency(s, e.payment_recorded().amount());
      break;
    case v1::EventEnvelope::kCreditGranted: {
      const auto& p = e.credit_granted();
      v1::Credit c;
      c.set_credit_id(p.credit_id());
      *c.mutable_amount() = p.amount();
      c.set_reason(p.reason());
      c.set_status(p.status());
      c.set_granted_by(e.actor().principal());
      s.credits.push_back(std::move(c));
      if (p.status() == v1::CREDIT_STATUS_APPLIED) {
        s.direct_credits.push_back({e.actor().role(), TimeOf(e), p.amount().amount_minor()});
      }
      AdoptCurrency(s, p.amount());
      break;
    }
    case v1::EventEnvelope::kCreditApproved:
      for (auto& c : s.credits) {
        if (c.credit_id() != e.credit_approved().credit_id() ||
            c.status() == v1::CREDIT_STATUS_APPLIED) {
          continue;
        }
        c.set_status(v1::CREDIT_STATUS_APPLIED);
      }
      break;
    case v1::EventEnvelope::kChargeDisputed: {
      const auto& p = e.charge_disputed();
      v1::Dispute d;
      d.set_dispute_id(p.dispute_id());
      d.set_charge_id(p.charge_id());
      d.set_invoice_id(p.invoice_id());
      *d.mutable_amount() = p.amount();
      d.set_reason(p.reason());
      d.set_open(true);
      s.disputes.push_back(std::move(d));
      break;
    }
    case v1::EventEnvelope::kDisputeResolved:
      for (auto& d : s.disputes) {
        if (d.dispute_id() != e.dispute_resolved().dispute_id() || !d.open()) continue;
        d.set_open(false);
        d.set_outcome(e.dispute_resolved().outcome());
      }
      break;
    default:
      return;
  }
  s.version = e.version() != 0 ? e.version() : s.version + 1;
}

// ---- Commands ----

absl::StatusOr<domain::Events> Decide(const AccountState& s, const v1::IssueInvoiceRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateCustomer(cmd.customer_id()));
  RETURN_IF_ERROR(domain::ValidateWindow("period", cmd.period()));
  RETURN_IF_ERROR(RequireAccount(s));
  const TimePoint start = FromProto(cmd.period().start());
  const TimePoint end = FromProto(cmd.period().end());

  v1::EventEnvelope e;
  auto* p = e.mutable_invoice_issued();
  int64_t total = 0;
  int held = 0;
  for (const auto& c : s.charges) {
    if (c.charge.status() == v1::CHARGE_STATUS_HELD) ++held;
    // Only delivered charges are ever invoiced.
    if (c.charge.status() != v1::CHARGE_STATUS_ACTIVE) continue;
    if (!c.one_off_invoiced && c.charge.one_off().amount_minor() > 0) {
      auto* line = p->add_lines();
      line->set_charge_id(c.charge.charge_id());
      line->set_description(Cat(c.charge.description(), " (one-off)"));
      *line->mutable_amount() = c.charge.one_off();
      line->set_kind(v1::CHARGE_KIND_ONE_OFF);
      total += c.charge.one_off().amount_minor();
    }
    bool delivered_in_period = c.activated_at.value_or(TimePoint{}) < end;
    bool already = std::any_of(c.monthly_invoiced.begin(), c.monthly_invoiced.end(),
                               [&](const auto& period) { return Overlaps(period, start, end); });
    if (c.charge.monthly().amount_minor() > 0 && delivered_in_period && !already) {
      auto* line = p->add_lines();
      line->set_charge_id(c.charge.charge_id());
      line->set_description(Cat(c.charge.description(), " (monthly)"));
      *line->mutable_amount() = c.charge.monthly();
      line->set_kind(v1::CHARGE_KIND_MONTHLY);
      total += c.charge.monthly().amount_minor();
    }
  }
  if (p->lines_size() == 0) {
    return absl::FailedPreconditionError(
        Cat("nothing to invoice for this period: no delivered charge has an uninvoiced price",
            held > 0 ? Cat(" (", held, " charge(s) held until delivered)") : std::string(),
            "; no invoice was issued"));
  }
  p->set_invoice_id(ctx.new_id(kInvoicePrefix));
  *p->mutable_period() = cmd.period();
  *p->mutable_total() = Money(total, s.currency);
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const AccountState& s, const v1::RecordPaymentRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateCustomer(cmd.customer_id()));
  RETURN_IF_ERROR(domain::ValidateMoney("amount", cmd.amount(), /*allow_zero=*/false));
  if (!cmd.invoice_id().empty()) {
    RETURN_IF_ERROR(domain::ValidateId("invoice_id", cmd.invoice_id(), kInvoicePrefix));
  }
  RETURN_IF_ERROR(ValidateText("method", cmd.method(), domain::kMaxNameLength, false));
  RETURN_IF_ERROR(RequireAccount(s));
  if (!cmd.invoice_id().empty() && s.FindInvoice(cmd.invoice_id()) == nullptr) {
    return absl::NotFoundError(Cat("invoice ", cmd.invoice_id(),
                                   " not found on this account; check the invoice_id or leave it "
                                   "empty for a payment on account"));
  }
  RETURN_IF_ERROR(RequireCurrency(s, "amount", cmd.amount()));
  v1::EventEnvelope e;
  auto* p = e.mutable_payment_recorded();
  p->set_payment_id(ctx.new_id(kPaymentPrefix));
  *p->mutable_amount() = cmd.amount();
  p->set_invoice_id(cmd.invoice_id());
  p->set_method(cmd.method());
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const AccountState& s, const v1::GrantCreditRequest& cmd,
                                      const domain::CommandContext& ctx,
                                      const CreditPolicy& policy) {
  RETURN_IF_ERROR(ValidateCustomer(cmd.customer_id()));
  RETURN_IF_ERROR(domain::ValidateMoney("amount", cmd.amount(), /*allow_zero=*/false));
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireAccount(s));
  RETURN_IF_ERROR(RequireCurrency(s, "amount", cmd.amount()));
  v1::EventEnvelope e;
  auto* p = e.mutable_credit_granted();
  p->set_credit_id(ctx.new_id(kCreditPrefix));
  *p->mutable_amount() = cmd.amount();
  p->set_reason(cmd.reason());
  const int64_t recent =
      s.CreditedDirectlySince(ctx.actor.role(), ctx.now - std::chrono::hours(24 * 30));
  p->set_status(policy.AppliesDirectly(ctx.actor.role(), cmd.amount(), recent)
                    ? v1::CREDIT_STATUS_APPLIED
                    : v1::CREDIT_STATUS_PENDING_APPROVAL);
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const AccountState& s, const v1::ApproveCreditRequest& cmd,
                                      const domain::CommandContext& ctx,
                                      const CreditPolicy& policy) {
  RETURN_IF_ERROR(ValidateCustomer(cmd.customer_id()));
  RETURN_IF_ERROR(domain::ValidateId("credit_id", cmd.credit_id(), kCreditPrefix));
  if (!policy.MayApprove(ctx.actor.role())) {
    std::string roles;
    for (const auto& r : policy.approvers) roles += (roles.empty() ? "" : " or ") + r;
    return absl::PermissionDeniedError(Cat(
        "role '", ctx.actor.role(), "' may not approve credits; ask someone with role ", roles));
  }
  RETURN_IF_ERROR(RequireAccount(s));
  const v1::Credit* credit = s.FindCredit(cmd.credit_id());
  if (credit == nullptr) {
    return absl::NotFoundError(Cat("credit ", cmd.credit_id(), " not found on this account"));
  }
  if (credit->status() != v1::CREDIT_STATUS_PENDING_APPROVAL) {
    return absl::FailedPreconditionError(
        Cat("credit ", cmd.credit_id(), " is already applied; nothing to approve"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_credit_approved();
  p->set_credit_id(credit->credit_id());
  *p->mutable_amount() = credit->amount();
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const AccountState& s, const v1::DisputeChargeRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateCustomer(cmd.customer_id()));
  RETURN_IF_ERROR(domain::ValidateId("charge_id", cmd.charge_id(), kChargePrefix));
  if (!cmd.invoice_id().empty()) {
    RETURN_IF_ERROR(domain::ValidateId("invoice_id", cmd.invoice_id(), kInvoicePrefix));
  }
  RETURN_IF_ERROR(domain::ValidateMoney("amount", cmd.amount(), /*allow_zero=*/false));
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireAccount(s));
  const ChargeState* charge = s.FindCharge(cmd.charge_id());
  if (charge == nullptr) {
    return absl::NotFoundError(Cat("charge ", cmd.charge_id(), " not found on this account"));
  }
  int64_t invoiced = charge->invoiced_minor;
  if (!cmd.invoice_id().empty()) {
    const v1::InvoiceIssued* invoice = s.FindInvoice(cmd.invoice_id());
    if (invoice == nullptr) {
      return absl::NotFoundError(Cat("invoice ", cmd.invoice_id(), " not found on this account"));
    }
    invoiced = 0;
    for (const auto& line : invoice->lines()) {
      if (line.charge_id() == cmd.charge_id()) invoiced += line.amount().amount_minor();
    }
    if (invoiced == 0) {
      return absl::FailedPreconditionError(Cat("invoice ", cmd.invoice_id(),
                                               " does not bill charge ", cmd.charge_id(),
                                               "; dispute it on the invoice that billed it"));
    }
  }
  RETURN_IF_ERROR(RequireCurrency(s, "amount", cmd.amount()));
  if (invoiced == 0) {
    return absl::FailedPreconditionError(
        Cat("charge ", cmd.charge_id(),
            " has never been invoiced, so there is nothing to dispute (held charges are not "
            "billed until delivered)"));
  }
  int64_t disputable = invoiced - DisputedSoFar(s, cmd.charge_id(), cmd.invoice_id());
  if (cmd.amount().amount_minor() > disputable) {
    return absl::FailedPreconditionError(
        Cat("amount: at most ", Show(std::max<int64_t>(disputable, 0), s.currency), " of charge ",
            cmd.charge_id(), " can still be disputed (invoiced minus open and upheld disputes)"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_charge_disputed();
  p->set_dispute_id(ctx.new_id(kDisputePrefix));
  p->set_charge_id(cmd.charge_id());
  p->set_invoice_id(cmd.invoice_id());
  *p->mutable_amount() = cmd.amount();
  p->set_reason(cmd.reason());
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const AccountState& s, const v1::ResolveDisputeRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateCustomer(cmd.customer_id()));
  RETURN_IF_ERROR(domain::ValidateId("dispute_id", cmd.dispute_id(), kDisputePrefix));
  RETURN_IF_ERROR(domain::ValidateEnumValue("outcome", cmd.outcome()));
  const bool rejected = cmd.outcome() == v1::DISPUTE_OUTCOME_REJECTED;
  if (absl::Status st = ValidateText("note", cmd.note(), domain::kMaxTextLength, rejected);
      !st.ok()) {
    return rejected ? absl::InvalidArgumentError(
                          Cat(st.message(), "; tell the customer why the dispute is rejected"))
                    : st;
  }
  RETURN_IF_ERROR(RequireAccount(s));
  const v1::Dispute* dispute = s.FindDispute(cmd.dispute_id());
  if (dispute == nullptr) {
    return absl::NotFoundError(Cat("dispute ", cmd.dispute_id(), " not found on this account"));
  }
  if (!dispute->open()) {
    return absl::FailedPreconditionError(Cat("dispute ", cmd.dispute_id(), " is already resolved (",
                                             v1::DisputeOutcome_Name(dispute->outcome()),
                                             "); open a new dispute if the customer disagrees"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_dispute_resolved();
  p->set_dispute_id(dispute->dispute_id());
  p->set_outcome(cmd.outcome());
  *p->mutable_credited() = rejected ? Money(0, dispute->amount().currency()) : dispute->amount();
  p->set_note(cmd.note());
  return domain::Events{std::move(e)};
}

v1::Account ToView(const AccountState& s) {
  v1::Account v;
  v.set_customer_id(s.customer_id);
  *v.mutable_balance() = Money(s.BalanceMinor(), s.currency);
  for (const auto& c : s.charges) *v.add_charges() = c.charge;
  for (const auto& d : s.disputes) *v.add_disputes() = d;
  for (const auto& c : s.credits) *v.add_credits() = c;
  for (const auto& i : s.invoices) *v.add_invoices() = i;
  v.set_version(s.version);
  return v;
}

// ---- Reactions ----

absl::StatusOr<domain::Events> ReactToOrderPlaced(const AccountState& s,
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
  for (const auto& c : s.charges) {
    if (c.charge.order_id() == order.order_id()) return domain::Events{};  // redelivered
  }
  // One currency per account: an order in another one needs a person.
  std::string currency = s.currency;
  for (const auto& item : order.items()) {
    for (const v1::Money* m : {&item.one_off_price(), &item.monthly_price()}) {
      if (m->currency().empty()) continue;
      if (currency.empty()) currency = m->currency();
      if (m->currency() != currency) {
        return absl::FailedPreconditionError(
            Cat("order ", order.order_id(), " item ", item.item_id(), " is priced in ",
                m->currency(), " but the account bills in ", currency,
                "; one currency per account — bill this order by hand"));
      }
    }
  }
  domain::Events out;
  for (const auto& item : order.items()) {
    v1::EventEnvelope e;
    e.set_customer_id(in.customer_id());
    StampAsCause(in, ctx, e);
    auto* p = e.mutable_charge_scheduled();
    p->set_charge_id(ctx.new_id(kChargePrefix));
    p->set_order_id(order.order_id());
    p->set_item_id(item.item_id());
    p->set_sku(item.sku());
    p->set_description(item.description());
    *p->mutable_one_off() = item.one_off_price();
    *p->mutable_monthly() = item.monthly_price();
    if (item.needs_installation()) {
      p->set_status(v1::CHARGE_STATUS_HELD);
      p->set_hold_reason(std::string(kAwaitingInstallation));
    } else {
      p->set_status(v1::CHARGE_STATUS_ACTIVE);
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<domain::Events> ReactToInstallationCompleted(const AccountState& s,
                                                            const v1::EventEnvelope& in,
                                                            const domain::CommandContext& ctx) {
  if (!in.has_installation_completed()) {
    return absl::InvalidArgumentError(Cat("ReactToInstallationCompleted got a ",
                                          domain::EventType(in),
                                          " event; pass InstallationCompleted"));
  }
  const auto& done = in.installation_completed();
  auto find = [&](const std::string& item_id) -> const ChargeState* {
    for (const auto& c : s.charges) {
      if (c.charge.order_id() == done.order_id() && c.charge.item_id() == item_id) return &c;
    }
    return nullptr;
  };
  bool any = std::any_of(s.charges.begin(), s.charges.end(), [&](const ChargeState& c) {
    return c.charge.order_id() == done.order_id();
  });
  if (!any) {
    return absl::UnavailableError(
        Cat("no charges for order ", done.order_id(),
            " yet; its OrderPlaced has not reached billing — retry later"));
  }
  domain::Events out;
  for (const auto& d : done.delivered()) {
    const ChargeState* c = find(d.item_id());
    // Only held charges move: an active one is already billed, a cancelled
    // one stays cancelled, and a redelivered event changes nothing.
    if (c == nullptr || c->charge.status() != v1::CHARGE_STATUS_HELD) continue;
    v1::EventEnvelope e;
    e.set_customer_id(in.customer_id());
    StampAsCause(in, ctx, e);  // the first month counts from the visit
    auto* p = e.mutable_charge_activated();
    p->set_charge_id(c->charge.charge_id());
    p->set_item_id(d.item_id());
    out.push_back(std::move(e));
  }
  for (const auto& nd : done.not_delivered()) {
    const ChargeState* c = find(nd.item_id());
    std::string reason = Cat("not delivered: ", nd.reason());
    if (c == nullptr || c->charge.status() != v1::CHARGE_STATUS_HELD ||
        c->charge.hold_reason() == reason) {
      continue;
    }
    v1::EventEnvelope e;
    e.set_customer_id(in.customer_id());
    StampAsCause(in, ctx, e);
    auto* p = e.mutable_charge_held();
    p->set_charge_id(c->charge.charge_id());
    p->set_item_id(nd.item_id());
    p->set_reason(reason);
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<domain::Events> ReactToOrderCancelled(const AccountState& s,
                                                     const v1::EventEnvelope& in,
                                                     const domain::CommandContext& ctx) {
  if (!in.has_order_cancelled()) {
    return absl::InvalidArgumentError(
        Cat("ReactToOrderCancelled got a ", domain::EventType(in), " event; pass OrderCancelled"));
  }
  const auto& cancelled = in.order_cancelled();
  domain::Events out;
  for (const auto& c : s.charges) {
    if (c.charge.order_id() != cancelled.order_id()) continue;
    if (c.charge.status() != v1::CHARGE_STATUS_HELD || c.activated_at) continue;
    v1::EventEnvelope e;
    e.set_customer_id(in.customer_id());
    auto* p = e.mutable_charge_cancelled();
    p->set_charge_id(c.charge.charge_id());
    p->set_reason(cancelled.reason().empty() ? "order cancelled"
                                             : Cat("order cancelled: ", cancelled.reason()));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace threadline::billing
