#include "threadline/billing/domain.h"

#include <gmock/gmock.h>

#include "threadline/domain/test_context.h"
#include "threadline/installation/domain.h"
#include "threadline/policy/policy.h"
#include "threadline/testing/testing.h"

namespace threadline::billing {
namespace {

using domain::FromProto;
using domain::TestId;
using domain::ToProto;
using std::chrono::hours;

constexpr int64_t kNowSeconds = 1'760'000'000;  // 2025-10-09T08:53:20Z
const TimePoint kNow = FromUnixMicros(kNowSeconds * 1'000'000);
constexpr int64_t kDay = 24 * 3600;

MATCHER_P2(IsError, code, text, "") {
  const absl::Status& s = ::threadline::testing::AsStatus(arg);
  *result_listener << "status: " << s;
  return s.code() == code && s.message().find(text) != absl::string_view::npos;
}

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr auto kPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr auto kNotFound = absl::StatusCode::kNotFound;

const std::string kCustomer = TestId("cus", 900);
const std::string kOrder = TestId("ord", 100);
const std::string kLine = TestId("itm", 101);
const std::string kBroadband = TestId("itm", 102);
const std::string kRouter = TestId("itm", 103);

v1::Money Eur(int64_t minor) {
  v1::Money m;
  m.set_amount_minor(minor);
  m.set_currency("EUR");
  return m;
}

// The design's first story: a fibre line and broadband set-up, both needing
// the installer, and a router that is shipped.
v1::EventEnvelope OrderPlaced() {
  v1::EventEnvelope e;
  e.set_event_id("evt-order");
  e.set_customer_id(kCustomer);
  auto* p = e.mutable_order_placed();
  p->set_order_id(kOrder);
  auto add = [&](const std::string& id, const char* sku, const char* text, int64_t one_off,
                 int64_t monthly, bool install) {
    auto* item = p->add_items();
    item->set_item_id(id);
    item->set_sku(sku);
    item->set_description(text);
    *item->mutable_one_off_price() = Eur(one_off);
    *item->mutable_monthly_price() = Eur(monthly);
    item->set_needs_installation(install);
  };
  add(kLine, "LINE-FTTH", "Fibre line", 5000, 2000, true);
  add(kBroadband, "BB-1000", "Broadband 1000", 0, 3000, true);
  add(kRouter, "RTR-6", "Router", 9900, 0, false);
  auto* c = p->add_commitments();
  c->set_commitment_id(TestId("cmt", 104));
  c->set_text("full installation including broadband set-up");
  c->set_owner(v1::DEPARTMENT_INSTALLATION);
  return e;
}

v1::EventEnvelope InstallationCompleted(std::vector<std::string> delivered,
                                        std::vector<std::string> not_delivered) {
  v1::EventEnvelope e;
  e.set_customer_id(kCustomer);
  auto* p = e.mutable_installation_completed();
  p->set_work_order_id(TestId("wo", 1));
  p->set_order_id(kOrder);
  for (const auto& id : delivered) p->add_delivered()->set_item_id(id);
  for (const auto& id : not_delivered) {
    auto* nd = p->add_not_delivered();
    nd->set_item_id(id);
    nd->set_reason("broadband set-up is not part of the line job");
  }
  return e;
}

v1::EventEnvelope OrderCancelled() {
  v1::EventEnvelope e;
  e.set_customer_id(kCustomer);
  e.mutable_order_cancelled()->set_order_id(kOrder);
  e.mutable_order_cancelled()->set_reason("installation never completed");
  return e;
}

v1::TimeWindow Period(int64_t start, int64_t end) {
  v1::TimeWindow w;
  w.mutable_start()->set_seconds(start);
  w.mutable_end()->set_seconds(end);
  return w;
}

class BillingDomainTest : public ::testing::Test {
 protected:
  BillingDomainTest() : ctx_(domain::TestContext(kNow)), policy_(CreditPolicy::Defaults()) {
    ctx_.actor.set_principal("billing-clerk");
    ctx_.actor.set_role("billing");
  }

  // Events as the service stores them: customer, version, occurred_at, actor.
  void Given(const domain::Events& events) {
    for (auto e : events) {
      e.set_customer_id(kCustomer);
      e.set_version(++version_);
      if (!e.has_occurred_at()) *e.mutable_occurred_at() = ToProto(ctx_.now);
      *e.mutable_actor() = ctx_.actor;
      Evolve(account_, e);
    }
  }
  void Given(const absl::StatusOr<domain::Events>& events) {
    ASSERT_OK(events);
    Given(*events);
  }
  template <typename Cmd>
  absl::StatusOr<domain::Events> When(Cmd cmd) {
    if (cmd.customer_id().empty()) cmd.set_customer_id(kCustomer);
    return Decide(account_, cmd, ctx_);
  }
  absl::StatusOr<domain::Events> When(v1::GrantCreditRequest cmd) {
    if (cmd.customer_id().empty()) cmd.set_customer_id(kCustomer);
    return Decide(account_, cmd, ctx_, policy_);
  }
  absl::StatusOr<domain::Events> When(v1::ApproveCreditRequest cmd) {
    if (cmd.customer_id().empty()) cmd.set_customer_id(kCustomer);
    return Decide(account_, cmd, ctx_, policy_);
  }

  void GivenOrder() { Given(ReactToOrderPlaced(account_, OrderPlaced(), ctx_)); }
  void GivenInstalled(std::vector<std::string> delivered, std::vector<std::string> missing) {
    Given(ReactToInstallationCompleted(account_, InstallationCompleted(delivered, missing), ctx_));
  }
  std::string ChargeFor(const std::string& item_id) const {
    for (const auto& c : account_.charges) {
      if (c.charge.item_id() == item_id) return c.charge.charge_id();
    }
    return "";
  }
  const v1::Charge& Charge(const std::string& item_id) const {
    return account_.FindCharge(ChargeFor(item_id))->charge;
  }

  static v1::IssueInvoiceRequest Invoice(int64_t start = kNowSeconds,
                                         int64_t end = kNowSeconds + 30 * kDay) {
    v1::IssueInvoiceRequest r;
    *r.mutable_period() = Period(start, end);
    return r;
  }
  std::string GivenInvoice(int64_t start = kNowSeconds, int64_t end = kNowSeconds + 30 * kDay) {
    auto events = When(Invoice(start, end));
    EXPECT_OK(events);
    if (!events.ok()) return "";
    Given(*events);
    return (*events)[0].invoice_issued().invoice_id();
  }
  static v1::GrantCreditRequest Credit(int64_t minor) {
    v1::GrantCreditRequest r;
    *r.mutable_amount() = Eur(minor);
    r.set_reason("installer came on the wrong day");
    return r;
  }
  static v1::DisputeChargeRequest Dispute(const std::string& charge_id, int64_t minor,
                                          const std::string& invoice_id = "") {
    v1::DisputeChargeRequest r;
    r.set_charge_id(charge_id);
    r.set_invoice_id(invoice_id);
    *r.mutable_amount() = Eur(minor);
    r.set_reason("never received it");
    return r;
  }
  static v1::ResolveDisputeRequest Resolve(const std::string& dispute_id,
                                           v1::DisputeOutcome outcome, const char* note = "") {
    v1::ResolveDisputeRequest r;
    r.set_dispute_id(dispute_id);
    r.set_outcome(outcome);
    r.set_note(note);
    return r;
  }

  domain::CommandContext ctx_;
  CreditPolicy policy_;
  AccountState account_;
  uint64_t version_ = 0;
};

// ---- Reactions ----

TEST_F(BillingDomainTest, OrderPlacedHoldsWhatNeedsInstallation) {
  auto events = ReactToOrderPlaced(account_, OrderPlaced(), ctx_);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 3u);
  const auto& line = (*events)[0].charge_scheduled();
  EXPECT_EQ(line.item_id(), kLine);
  EXPECT_EQ(line.order_id(), kOrder);
  EXPECT_EQ(line.status(), v1::CHARGE_STATUS_HELD);
  EXPECT_EQ(line.hold_reason(), "awaiting installation");
  EXPECT_EQ(line.monthly().amount_minor(), 2000);
  EXPECT_EQ((*events)[1].charge_scheduled().status(), v1::CHARGE_STATUS_HELD);
  EXPECT_EQ((*events)[2].charge_scheduled().status(), v1::CHARGE_STATUS_ACTIVE);
  EXPECT_EQ((*events)[2].charge_scheduled().hold_reason(), "");
  EXPECT_EQ((*events)[0].customer_id(), kCustomer);

  Given(*events);
  v1::Account view = ToView(account_);
  EXPECT_EQ(view.customer_id(), kCustomer);
  EXPECT_EQ(view.charges_size(), 3);
  EXPECT_EQ(view.balance().amount_minor(), 0);
  EXPECT_EQ(view.balance().currency(), "EUR");
  EXPECT_EQ(view.version(), 3u);
}

// Billing's consumer may be behind: a charge is scheduled when it was
// ordered, so its activation at the visit never sorts before it.
TEST_F(BillingDomainTest, ChargesAreScheduledWhenOrderedNotWhenBillingNoticed) {
  auto order = OrderPlaced();
  *order.mutable_occurred_at() = ToProto(kNow - hours(5));
  auto events = ReactToOrderPlaced(account_, order, ctx_);
  ASSERT_OK(events);
  ASSERT_FALSE(events->empty());
  for (const auto& e : *events) EXPECT_EQ(FromProto(e.occurred_at()), kNow - hours(5));
  Given(*events);
  auto done = InstallationCompleted({kLine}, {kBroadband});
  *done.mutable_occurred_at() = ToProto(kNow - hours(3));
  auto moved = ReactToInstallationCompleted(account_, done, ctx_);
  ASSERT_OK(moved);
  for (const auto& e : *moved) EXPECT_GT(e.occurred_at().seconds(), order.occurred_at().seconds());
}

TEST_F(BillingDomainTest, SameOrderPlacedTwiceSchedulesOnce) {
  GivenOrder();
  auto again = ReactToOrderPlaced(account_, OrderPlaced(), ctx_);
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(BillingDomainTest, OrderInAnotherCurrencyIsRefused) {
  GivenOrder();
  auto usd = OrderPlaced();
  usd.mutable_order_placed()->set_order_id(TestId("ord", 200));
  for (auto& item : *usd.mutable_order_placed()->mutable_items()) {
    item.mutable_one_off_price()->set_currency("USD");
    item.mutable_monthly_price()->set_currency("USD");
  }
  EXPECT_THAT(ReactToOrderPlaced(account_, usd, ctx_),
              IsError(kPrecondition, "the account bills in EUR"));

  AccountState fresh;
  auto mixed = OrderPlaced();
  mixed.mutable_order_placed()->mutable_items(2)->mutable_one_off_price()->set_currency("GBP");
  EXPECT_THAT(ReactToOrderPlaced(fresh, mixed, ctx_), IsError(kPrecondition, "priced in GBP"));
}

TEST_F(BillingDomainTest, ReactionsRejectWrongEvents) {
  EXPECT_THAT(ReactToOrderPlaced(account_, OrderCancelled(), ctx_),
              IsError(kInvalid, "pass OrderPlaced"));
  auto anonymous = OrderPlaced();
  anonymous.clear_customer_id();
  EXPECT_THAT(ReactToOrderPlaced(account_, anonymous, ctx_), IsError(kInvalid, "no customer_id"));
  EXPECT_THAT(ReactToInstallationCompleted(account_, OrderPlaced(), ctx_),
              IsError(kInvalid, "pass InstallationCompleted"));
  EXPECT_THAT(ReactToOrderCancelled(account_, OrderPlaced(), ctx_),
              IsError(kInvalid, "pass OrderCancelled"));
}

TEST_F(BillingDomainTest, InstallationActivatesDeliveredAndHoldsTheRest) {
  GivenOrder();
  auto done = InstallationCompleted({kLine}, {kBroadband});
  *done.mutable_occurred_at() = ToProto(kNow - hours(3));
  auto events = ReactToInstallationCompleted(account_, done, ctx_);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].charge_activated().charge_id(), ChargeFor(kLine));
  EXPECT_EQ(FromProto((*events)[0].occurred_at()), kNow - hours(3));  // delivered then
  EXPECT_EQ((*events)[1].charge_held().charge_id(), ChargeFor(kBroadband));
  EXPECT_EQ((*events)[1].charge_held().reason(),
            "not delivered: broadband set-up is not part of the line job");
  Given(*events);
  EXPECT_EQ(Charge(kLine).status(), v1::CHARGE_STATUS_ACTIVE);
  EXPECT_EQ(Charge(kLine).hold_reason(), "");
  EXPECT_EQ(Charge(kBroadband).status(), v1::CHARGE_STATUS_HELD);
  EXPECT_EQ(Charge(kBroadband).hold_reason(),
            "not delivered: broadband set-up is not part of the line job");

  // Redelivered: nothing changes twice.
  auto again = ReactToInstallationCompleted(account_, done, ctx_);
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(BillingDomainTest, InstallationBeforeTheOrderReachedBillingIsRetried) {
  EXPECT_THAT(ReactToInstallationCompleted(account_, InstallationCompleted({kLine}, {}), ctx_),
              IsError(absl::StatusCode::kUnavailable, "retry later"));
}

TEST_F(BillingDomainTest, CancellationCancelsOnlyChargesNeverActivated) {
  GivenOrder();
  GivenInstalled({kLine}, {kBroadband});
  auto events = ReactToOrderCancelled(account_, OrderCancelled(), ctx_);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);  // the broadband charge; line and router were delivered
  EXPECT_EQ((*events)[0].charge_cancelled().charge_id(), ChargeFor(kBroadband));
  EXPECT_EQ((*events)[0].charge_cancelled().reason(),
            "order cancelled: installation never completed");
  Given(*events);
  EXPECT_EQ(Charge(kBroadband).status(), v1::CHARGE_STATUS_CANCELLED);
  auto again = ReactToOrderCancelled(account_, OrderCancelled(), ctx_);
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty());
}

// ---- IssueInvoice ----

TEST_F(BillingDomainTest, InvoiceBillsOnlyDeliveredCharges) {
  GivenOrder();
  auto events = When(Invoice());
  ASSERT_OK(events);
  const auto& p = (*events)[0].invoice_issued();
  EXPECT_THAT(p.invoice_id(), ::testing::StartsWith("inv_"));
  ASSERT_EQ(p.lines_size(), 1);  // the router; line and broadband are held
  EXPECT_EQ(p.lines(0).charge_id(), ChargeFor(kRouter));
  EXPECT_EQ(p.lines(0).kind(), v1::CHARGE_KIND_ONE_OFF);
  EXPECT_EQ(p.lines(0).description(), "Router (one-off)");
  EXPECT_EQ(p.total().amount_minor(), 9900);
  EXPECT_EQ(p.total().currency(), "EUR");
  EXPECT_EQ(p.period().end().seconds(), kNowSeconds + 30 * kDay);
}

TEST_F(BillingDomainTest, OneOffOnceEverMonthlyOncePerPeriod) {
  GivenOrder();
  GivenInstalled({kLine, kBroadband}, {});
  GivenInvoice();
  ASSERT_EQ(account_.invoices.size(), 1u);
  // router 99.00 + line 50.00 one-off + 20.00 monthly + broadband 30.00 monthly
  EXPECT_EQ(account_.invoices[0].total().amount_minor(), 9900 + 5000 + 2000 + 3000);
  EXPECT_EQ(account_.invoices[0].lines_size(), 4);

  // The same period again: everything in it is billed already.
  EXPECT_THAT(When(Invoice()), IsError(kPrecondition, "nothing to invoice"));
  // An overlapping period does not bill a month twice either.
  EXPECT_THAT(When(Invoice(kNowSeconds + 10 * kDay, kNowSeconds + 40 * kDay)),
              IsError(kPrecondition, "nothing to invoice"));

  GivenInvoice(kNowSeconds + 30 * kDay, kNowSeconds + 60 * kDay);
  const auto& next = account_.invoices[1];
  ASSERT_EQ(next.lines_size(), 2);  // the monthly prices only
  EXPECT_EQ(next.lines(0).kind(), v1::CHARGE_KIND_MONTHLY);
  EXPECT_EQ(next.total().amount_minor(), 2000 + 3000);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 9900 + 5000 + 2 * (2000 + 3000));
}

TEST_F(BillingDomainTest, MonthlyPriceIsNotBilledForAPeriodThatEndedBeforeDelivery) {
  GivenOrder();
  GivenInstalled({kLine, kBroadband}, {});  // delivered at kNow
  auto events = When(Invoice(kNowSeconds - 30 * kDay, kNowSeconds - kDay));
  ASSERT_OK(events);
  for (const auto& line : (*events)[0].invoice_issued().lines()) {
    EXPECT_EQ(line.kind(), v1::CHARGE_KIND_ONE_OFF) << line.description();
  }
}

TEST_F(BillingDomainTest, InvoiceRejections) {
  EXPECT_THAT(When(Invoice()), IsError(kNotFound, "no billing account"));
  auto bad = Invoice();
  bad.set_customer_id("customer-1");
  EXPECT_THAT(When(bad), IsError(kInvalid, "customer_id: "));
  EXPECT_THAT(When(Invoice(kNowSeconds, kNowSeconds)), IsError(kInvalid, "period: "));

  // Nothing delivered yet and the router was billed: no empty invoice.
  GivenOrder();
  GivenInvoice();
  EXPECT_THAT(When(Invoice(kNowSeconds + 30 * kDay, kNowSeconds + 60 * kDay)),
              IsError(kPrecondition, "2 charge(s) held until delivered"));
}

// ---- Payments ----

TEST_F(BillingDomainTest, PaymentsReduceTheBalance) {
  GivenOrder();
  std::string invoice = GivenInvoice();
  v1::RecordPaymentRequest pay;
  *pay.mutable_amount() = Eur(4000);
  pay.set_invoice_id(invoice);
  pay.set_method("iDEAL");
  auto events = When(pay);
  ASSERT_OK(events);
  EXPECT_THAT((*events)[0].payment_recorded().payment_id(), ::testing::StartsWith("pay_"));
  Given(*events);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 9900 - 4000);
}

TEST_F(BillingDomainTest, PaymentRejections) {
  v1::RecordPaymentRequest pay;
  *pay.mutable_amount() = Eur(100);
  EXPECT_THAT(When(pay), IsError(kNotFound, "no billing account"));
  GivenOrder();
  *pay.mutable_amount() = Eur(0);
  EXPECT_THAT(When(pay), IsError(kInvalid, "amount.amount_minor: must be greater than 0"));
  *pay.mutable_amount() = Eur(-5);
  EXPECT_THAT(When(pay), IsError(kInvalid, "amount.amount_minor: is -5"));
  pay.mutable_amount()->set_amount_minor(100);
  pay.mutable_amount()->set_currency("USD");
  EXPECT_THAT(When(pay), IsError(kPrecondition, "amount.currency: the account bills in EUR"));
  *pay.mutable_amount() = Eur(100);
  pay.set_invoice_id(TestId("inv", 77));
  EXPECT_THAT(When(pay), IsError(kNotFound, "invoice " + TestId("inv", 77) + " not found"));
  pay.set_invoice_id("invoice-77");
  EXPECT_THAT(When(pay), IsError(kInvalid, "invoice_id: "));
}

// ---- Credits ----

TEST_F(BillingDomainTest, CreditWithinTheRoleLimitIsAppliedAtOnce) {
  GivenOrder();
  GivenInvoice();
  auto events = When(Credit(5000));  // billing may give 50.00
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].credit_granted().status(), v1::CREDIT_STATUS_APPLIED);
  Given(*events);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 9900 - 5000);
  EXPECT_EQ(ToView(account_).credits(0).granted_by(), "billing-clerk");

  auto over = When(Credit(5001));
  ASSERT_OK(over);
  EXPECT_EQ((*over)[0].credit_granted().status(), v1::CREDIT_STATUS_PENDING_APPROVAL);
  Given(*over);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 9900 - 5000);  // pending counts nothing
}

TEST_F(BillingDomainTest, CreditLimitsFollowTheRole) {
  GivenOrder();
  auto status_for = [&](const char* role, int64_t minor) {
    ctx_.actor.set_role(role);
    auto events = When(Credit(minor));
    EXPECT_OK(events);
    return events.ok() ? (*events)[0].credit_granted().status() : v1::CREDIT_STATUS_UNSPECIFIED;
  };
  EXPECT_EQ(status_for("support", 2000), v1::CREDIT_STATUS_APPLIED);
  EXPECT_EQ(status_for("support", 2001), v1::CREDIT_STATUS_PENDING_APPROVAL);
  EXPECT_EQ(status_for("supervisor", 1'000'000), v1::CREDIT_STATUS_APPLIED);
  EXPECT_EQ(status_for("admin", 1'000'000), v1::CREDIT_STATUS_APPLIED);
  EXPECT_EQ(status_for("sales", 1), v1::CREDIT_STATUS_PENDING_APPROVAL);
  EXPECT_EQ(status_for("", 1), v1::CREDIT_STATUS_PENDING_APPROVAL);
}

// An operator may cap what a role credits one customer in 30 days: within
// it goodwill applies on the call, beyond it waits for a supervisor.
TEST_F(BillingDomainTest, ThirtyDayCapPerCustomerComesFromThePolicy) {
  auto parsed = policy::Policy::Parse(R"(
roles:
  support:
    may: ["SupportService/*", "BillingService/GrantCredit"]
    credit_limit: {amount_minor: 2000, currency: EUR}
    credit_limit_per_30_days: {amount_minor: 3000, currency: EUR}
)",
                                      "cap.yaml");
  ASSERT_OK(parsed);
  policy_ = CreditPolicy::From(*parsed);
  GivenOrder();
  ctx_.actor.set_role("support");
  auto first = When(Credit(2000));
  ASSERT_OK(first);
  EXPECT_EQ((*first)[0].credit_granted().status(), v1::CREDIT_STATUS_APPLIED);
  Given(*first);
  auto second = When(Credit(1500));  // 35.00 in 30 days: over the cap
  ASSERT_OK(second);
  EXPECT_EQ((*second)[0].credit_granted().status(), v1::CREDIT_STATUS_PENDING_APPROVAL);
  Given(*second);                   // pending credits do not count
  auto third = When(Credit(1000));  // exactly 30.00
  ASSERT_OK(third);
  EXPECT_EQ((*third)[0].credit_granted().status(), v1::CREDIT_STATUS_APPLIED);
  Given(*third);
  // 31 days later the first two are outside the window.
  ctx_.now = kNow + std::chrono::hours(24 * 31);
  auto later = When(Credit(2000));
  ASSERT_OK(later);
  EXPECT_EQ((*later)[0].credit_granted().status(), v1::CREDIT_STATUS_APPLIED);
  // Billing keeps its shipped limit; a limit in another currency applies
  // nothing directly.
  EXPECT_TRUE(policy_.AppliesDirectly("billing", Credit(5000).amount()));
  v1::Money usd;
  usd.set_amount_minor(100);
  usd.set_currency("USD");
  EXPECT_FALSE(policy_.AppliesDirectly("support", usd));
}

TEST_F(BillingDomainTest, GrantCreditRejections) {
  EXPECT_THAT(When(Credit(100)), IsError(kNotFound, "no billing account"));
  GivenOrder();
  EXPECT_THAT(When(Credit(0)), IsError(kInvalid, "amount.amount_minor: must be greater than 0"));
  auto no_reason = Credit(100);
  no_reason.clear_reason();
  EXPECT_THAT(When(no_reason), IsError(kInvalid, "reason: "));
  auto usd = Credit(100);
  usd.mutable_amount()->set_currency("USD");
  EXPECT_THAT(When(usd), IsError(kPrecondition, "one currency per account"));
}

TEST_F(BillingDomainTest, OnlySupervisorsApprovePendingCredits) {
  GivenOrder();
  GivenInvoice();
  ctx_.actor.set_role("support");
  auto granted = When(Credit(3000));
  ASSERT_OK(granted);
  Given(*granted);
  std::string credit_id = (*granted)[0].credit_granted().credit_id();
  v1::ApproveCreditRequest approve;
  approve.set_credit_id(credit_id);

  EXPECT_THAT(When(approve), IsError(absl::StatusCode::kPermissionDenied,
                                     "role 'support' may not approve credits; ask someone "
                                     "with role admin or supervisor"));
  ctx_.actor.set_role("supervisor");
  auto events = When(approve);
  ASSERT_OK(events);
  EXPECT_EQ((*events)[0].credit_approved().amount().amount_minor(), 3000);
  Given(*events);
  EXPECT_EQ(ToView(account_).credits(0).status(), v1::CREDIT_STATUS_APPLIED);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 9900 - 3000);
  EXPECT_THAT(When(approve), IsError(kPrecondition, "already applied"));

  approve.set_credit_id(TestId("cr", 404));
  EXPECT_THAT(When(approve), IsError(kNotFound, "not found"));
  approve.set_credit_id("credit");
  EXPECT_THAT(When(approve), IsError(kInvalid, "credit_id: "));
}

// ---- Disputes ----

TEST_F(BillingDomainTest, UpheldDisputeCreditsTheDisputedAmount) {
  GivenOrder();
  std::string invoice = GivenInvoice();
  auto disputed = When(Dispute(ChargeFor(kRouter), 9900, invoice));
  ASSERT_OK(disputed);
  std::string dispute_id = (*disputed)[0].charge_disputed().dispute_id();
  Given(*disputed);
  EXPECT_TRUE(ToView(account_).disputes(0).open());

  auto resolved = When(Resolve(dispute_id, v1::DISPUTE_OUTCOME_UPHELD));
  ASSERT_OK(resolved);
  EXPECT_EQ((*resolved)[0].dispute_resolved().credited().amount_minor(), 9900);
  Given(*resolved);
  v1::Account view = ToView(account_);
  EXPECT_FALSE(view.disputes(0).open());
  EXPECT_EQ(view.disputes(0).outcome(), v1::DISPUTE_OUTCOME_UPHELD);
  EXPECT_EQ(view.balance().amount_minor(), 0);
  EXPECT_THAT(When(Resolve(dispute_id, v1::DISPUTE_OUTCOME_REJECTED, "x")),
              IsError(kPrecondition, "already resolved"));
}

TEST_F(BillingDomainTest, RejectedDisputeNeedsANoteAndCreditsNothing) {
  GivenOrder();
  GivenInvoice();
  auto disputed = When(Dispute(ChargeFor(kRouter), 1000));
  ASSERT_OK(disputed);
  Given(*disputed);
  std::string dispute_id = (*disputed)[0].charge_disputed().dispute_id();
  EXPECT_THAT(When(Resolve(dispute_id, v1::DISPUTE_OUTCOME_REJECTED)),
              IsError(kInvalid, "tell the customer why"));
  EXPECT_THAT(When(Resolve(dispute_id, v1::DISPUTE_OUTCOME_UNSPECIFIED)),
              IsError(kInvalid, "outcome: "));
  auto rejected = When(Resolve(dispute_id, v1::DISPUTE_OUTCOME_REJECTED, "router was delivered"));
  ASSERT_OK(rejected);
  EXPECT_EQ((*rejected)[0].dispute_resolved().credited().amount_minor(), 0);
  Given(*rejected);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 9900);
  EXPECT_THAT(When(Resolve(TestId("dsp", 9), v1::DISPUTE_OUTCOME_UPHELD)),
              IsError(kNotFound, "not found"));
}

TEST_F(BillingDomainTest, OnlyInvoicedAmountsCanBeDisputed) {
  EXPECT_THAT(When(Dispute(TestId("chg", 1), 100)), IsError(kNotFound, "no billing account"));
  GivenOrder();
  std::string invoice = GivenInvoice();
  EXPECT_THAT(When(Dispute(ChargeFor(kLine), 100)),
              IsError(kPrecondition, "has never been invoiced"));
  EXPECT_THAT(When(Dispute(ChargeFor(kLine), 100, invoice)),
              IsError(kPrecondition, "does not bill charge"));
  EXPECT_THAT(When(Dispute(ChargeFor(kRouter), 9901)),
              IsError(kPrecondition, "at most 99.00 EUR of charge"));
  Given(When(Dispute(ChargeFor(kRouter), 9000)));
  EXPECT_THAT(When(Dispute(ChargeFor(kRouter), 901)), IsError(kPrecondition, "at most 9.00 EUR"));
  EXPECT_THAT(When(Dispute(TestId("chg", 404), 100)), IsError(kNotFound, "charge"));
  EXPECT_THAT(When(Dispute(ChargeFor(kRouter), 100, TestId("inv", 404))),
              IsError(kNotFound, "invoice"));
  auto no_reason = Dispute(ChargeFor(kRouter), 100);
  no_reason.clear_reason();
  EXPECT_THAT(When(no_reason), IsError(kInvalid, "reason: "));
}

TEST_F(BillingDomainTest, BalanceIsInvoicedMinusPaymentsCreditsAndUpheldDisputes) {
  GivenOrder();
  GivenInstalled({kLine, kBroadband}, {});
  GivenInvoice();  // 199.00
  v1::RecordPaymentRequest pay;
  *pay.mutable_amount() = Eur(10000);
  Given(When(pay));
  Given(When(Credit(1500)));
  auto disputed = When(Dispute(ChargeFor(kBroadband), 3000));
  ASSERT_OK(disputed);
  Given(*disputed);
  Given(When(Resolve((*disputed)[0].charge_disputed().dispute_id(), v1::DISPUTE_OUTCOME_UPHELD)));
  EXPECT_EQ(account_.BalanceMinor(), 19900 - 10000 - 1500 - 3000);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 5400);
}

// ---- The story from the design, across departments ----

TEST_F(BillingDomainTest, InstallerDeliversOnlyTheLineBroadbandStaysHeldAndUnbilled) {
  // Given sales' order for broadband and a line, both needing installation.
  v1::EventEnvelope order = OrderPlaced();
  order.mutable_order_placed()->mutable_items()->DeleteSubrange(2, 1);  // no router
  Given(ReactToOrderPlaced(account_, order, ctx_));

  // Installation creates the work order from the same event.
  installation::OrderIndex index;
  auto created = installation::ReactToOrderPlaced(index, order, ctx_);
  ASSERT_OK(created);
  ASSERT_EQ(created->size(), 1u);
  installation::WorkOrderState work_order;
  v1::EventEnvelope stored = (*created)[0];
  stored.set_version(1);
  installation::Evolve(work_order, stored);
  ASSERT_EQ(work_order.scope.size(), 2u);

  // The installer connects the line only.
  v1::CompleteInstallationRequest report;
  report.set_work_order_id(work_order.work_order_id);
  report.add_delivered()->set_item_id(kLine);
  auto* missing = report.add_not_delivered();
  missing->set_item_id(kBroadband);
  missing->set_reason("installer only connects the line, not the broadband set-up");
  auto completed = installation::Decide(work_order, report, ctx_);
  ASSERT_OK(completed);
  v1::EventEnvelope completion = (*completed)[0];
  completion.set_customer_id(kCustomer);
  EXPECT_EQ(completion.installation_completed().outcome(), v1::COMPLETION_OUTCOME_PARTIAL);
  EXPECT_FALSE(completion.installation_completed().commitments(0).kept());

  // Billing reacts.
  Given(ReactToInstallationCompleted(account_, completion, ctx_));
  EXPECT_EQ(Charge(kLine).status(), v1::CHARGE_STATUS_ACTIVE);
  EXPECT_EQ(Charge(kBroadband).status(), v1::CHARGE_STATUS_HELD);
  EXPECT_EQ(Charge(kBroadband).hold_reason(),
            "not delivered: installer only connects the line, not the broadband set-up");

  // Then the invoice bills the line only.
  auto invoice = When(Invoice());
  ASSERT_OK(invoice);
  const auto& p = (*invoice)[0].invoice_issued();
  ASSERT_EQ(p.lines_size(), 2);
  for (const auto& line : p.lines()) EXPECT_EQ(line.charge_id(), ChargeFor(kLine));
  EXPECT_EQ(p.total().amount_minor(), 5000 + 2000);
  Given(*invoice);
  EXPECT_EQ(ToView(account_).balance().amount_minor(), 7000);
}

}  // namespace
}  // namespace threadline::billing
