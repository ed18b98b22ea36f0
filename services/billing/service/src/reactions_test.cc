// Billing's reactions on the embedded bus: sales' and installation's
// envelopes are published to their topics as the relays would, and the two
// reactors the department runs apply them.

#include "threadline/billing/service.h"
#include "threadline/bus/embedded.h"
#include "threadline/command/testing.h"
#include "threadline/domain/test_context.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/outbox/relay.h"
#include "threadline/testing/testing.h"

namespace threadline::billing {
namespace {

using ::threadline::domain::TestId;
using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

constexpr char kSalesTopic[] = "threadline.sales.v1";
constexpr char kInstallationTopic[] = "threadline.installation.v1";
const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
const std::string kAnna = TestId("cus", 1);
const std::string kLine = TestId("itm", 11);
const std::string kBroadband = TestId("itm", 12);

v1::Money Money(int64_t minor, const std::string& currency = "EUR") {
  v1::Money m;
  m.set_amount_minor(minor);
  m.set_currency(currency);
  return m;
}

v1::EventEnvelope Envelope(const std::string& event_id, const std::string& customer) {
  v1::EventEnvelope e;
  e.set_event_id(event_id);
  e.set_customer_id(customer);
  e.set_correlation_id("corr-" + event_id);
  *e.mutable_occurred_at() = domain::ToProto(kT0);
  return e;
}

// A line and broadband configuration, both for the installer.
v1::EventEnvelope OrderPlaced(const std::string& event_id, const std::string& order_id,
                              const std::string& currency = "EUR") {
  v1::EventEnvelope e = Envelope(event_id, kAnna);
  e.set_department(v1::DEPARTMENT_SALES);
  auto* p = e.mutable_order_placed();
  p->set_order_id(order_id);
  auto add = [&](const std::string& id, const char* text, int64_t monthly) {
    auto* item = p->add_items();
    item->set_item_id(id);
    item->set_description(text);
    *item->mutable_monthly_price() = Money(monthly, currency);
    item->set_needs_installation(true);
  };
  add(kLine, "Fibre line", 2000);
  add(kBroadband, "Broadband configuration", 1500);
  return e;
}

v1::EventEnvelope LineOnlyCompleted(const std::string& event_id, const std::string& order_id) {
  v1::EventEnvelope e = Envelope(event_id, kAnna);
  e.set_department(v1::DEPARTMENT_INSTALLATION);
  auto* p = e.mutable_installation_completed();
  p->set_work_order_id(TestId("wo", 1));
  p->set_order_id(order_id);
  p->add_delivered()->set_item_id(kLine);
  auto* nd = p->add_not_delivered();
  nd->set_item_id(kBroadband);
  nd->set_reason("no router on site");
  p->set_outcome(v1::COMPLETION_OUTCOME_PARTIAL);
  return e;
}

class BillingReactionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = command::testing::TestBus::Open(dir_.path(), {kSalesTopic, kInstallationTopic});
    ASSERT_OK(b);
    bus_ = std::move(*b);
    auto d = command::testing::OpenTestDepartment(dir_.path(), "billing", v1::DEPARTMENT_BILLING,
                                                  &clock_);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    env_ = d->env;
    service_ = std::make_unique<BillingService>(env_);
    command::ReactorOptions so = SalesReactorOptions();
    so.poll_wait = std::chrono::milliseconds(20);
    sales_ = std::make_unique<command::Reactor>(env_, bus_->bus(), so,
                                                NewSalesReaction(env_, &counters_));
    command::ReactorOptions io = InstallationReactorOptions();
    io.poll_wait = std::chrono::milliseconds(20);
    installation_ = std::make_unique<command::Reactor>(env_, bus_->bus(), io,
                                                       NewInstallationReaction(env_, &counters_));
    ASSERT_OK(sales_->Start());
    ASSERT_OK(installation_->Start());
  }
  void TearDown() override {
    installation_->Stop();
    sales_->Stop();
  }

  void Publish(const v1::EventEnvelope& e, const char* topic) {
    ASSERT_OK(bus_->Publish(e, topic));
  }
  std::vector<v1::Charge> Charges(const std::string& order_id) {
    v1::GetAccountRequest r;
    r.set_customer_id(kAnna);
    auto account = service_->GetAccount(r);
    std::vector<v1::Charge> out;
    if (!account.ok()) return out;
    for (const auto& c : account->charges()) {
      if (c.order_id() == order_id) out.push_back(c);
    }
    return out;
  }
  const v1::Charge* Find(const std::vector<v1::Charge>& charges, const std::string& item) {
    for (const auto& c : charges) {
      if (c.item_id() == item) return &c;
    }
    return nullptr;
  }

  TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<command::testing::TestBus> bus_;
  std::unique_ptr<eventstore::EventStore> store_;
  command::Env env_;
  std::unique_ptr<BillingService> service_;
  ReactionCounters counters_;
  std::unique_ptr<command::Reactor> sales_;
  std::unique_ptr<command::Reactor> installation_;
};

TEST_F(BillingReactionsTest, TheSameOrderPlacedTwiceSchedulesOneSetOfCharges) {
  const std::string order = TestId("ord", 1);
  auto placed = OrderPlaced("evt-1", order);
  Publish(placed, kSalesTopic);
  Publish(placed, kSalesTopic);
  ASSERT_TRUE(WaitFor([&] { return sales_->Stats().consumed == 2; }));
  auto charges = Charges(order);
  ASSERT_EQ(charges.size(), 2u);
  for (const auto& c : charges) {
    EXPECT_EQ(c.status(), v1::CHARGE_STATUS_HELD);
    EXPECT_EQ(c.hold_reason(), kAwaitingInstallation);
  }
  auto events = store_->ReadStream("account-" + kAnna);
  ASSERT_OK(events);
  EXPECT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].causation_id(), "evt-1");
  EXPECT_EQ((*events)[0].department(), v1::DEPARTMENT_BILLING);
}

TEST_F(BillingReactionsTest, CompletionBeforeItsChargesIsRetriedAndEndsRight) {
  const std::string order = TestId("ord", 2);
  // Installation's topic is ahead of sales': the completion comes first.
  Publish(LineOnlyCompleted("evt-done", order), kInstallationTopic);
  ASSERT_TRUE(WaitFor([&] { return installation_->Stats().errors >= 1; }));
  EXPECT_TRUE(Charges(order).empty());
  Publish(OrderPlaced("evt-order", order), kSalesTopic);
  std::vector<v1::Charge> charges;
  ASSERT_TRUE(WaitFor([&] {
    charges = Charges(order);
    const v1::Charge* line = Find(charges, kLine);
    return line != nullptr && line->status() == v1::CHARGE_STATUS_ACTIVE;
  }));
  const v1::Charge* broadband = Find(charges, kBroadband);
  ASSERT_NE(broadband, nullptr);
  EXPECT_EQ(broadband->status(), v1::CHARGE_STATUS_HELD);
  EXPECT_EQ(broadband->hold_reason(), "not delivered: no router on site");
  EXPECT_EQ(counters_.parked.load(), 0u);  // retried, never given up on

  // Only the delivered line is invoiced.
  v1::IssueInvoiceRequest r;
  r.set_request_id("inv-1");
  r.set_channel(v1::CHANNEL_SYSTEM);
  r.set_customer_id(kAnna);
  *r.mutable_period()->mutable_start() = domain::ToProto(kT0);
  *r.mutable_period()->mutable_end() = domain::ToProto(kT0 + std::chrono::hours(24 * 30));
  auto invoice = service_->IssueInvoice(command::Invocation{}, r);
  ASSERT_OK(invoice);
  EXPECT_EQ(invoice->total().amount_minor(), 2000);
}

TEST_F(BillingReactionsTest, OrderInASecondCurrencyIsParkedAndBlocksNothing) {
  const std::string euros = TestId("ord", 3);
  const std::string pounds = TestId("ord", 4);
  const std::string later = TestId("ord", 5);
  Publish(OrderPlaced("evt-eur", euros), kSalesTopic);
  Publish(OrderPlaced("evt-gbp", pounds, "GBP"), kSalesTopic);
  Publish(OrderPlaced("evt-later", later), kSalesTopic);
  // Charges first, so that no completion is retried (a retried batch would
  // park its messages again and count them twice).
  ASSERT_TRUE(WaitFor([&] { return sales_->Stats().consumed == 3; }));
  // The installer completes the parked order, then another one: the first
  // must not wait forever for charges that will never be scheduled.
  Publish(LineOnlyCompleted("evt-done-gbp", pounds), kInstallationTopic);
  Publish(LineOnlyCompleted("evt-done-later", later), kInstallationTopic);
  ASSERT_TRUE(WaitFor([&] {
    const auto charges = Charges(later);
    const v1::Charge* line = Find(charges, kLine);
    return line != nullptr && line->status() == v1::CHARGE_STATUS_ACTIVE;
  }));
  EXPECT_TRUE(Charges(pounds).empty());
  EXPECT_EQ(Charges(euros).size(), 2u);
  EXPECT_EQ(counters_.parked.load(), 2u);  // the order and its completion
  auto parked = store_->FindClaim(kParkedOrders, pounds);
  ASSERT_OK(parked);
  EXPECT_EQ(parked->value_or(""), kAnna);
}

TEST_F(BillingReactionsTest, OrderCancelledCancelsHeldCharges) {
  const std::string order = TestId("ord", 6);
  Publish(OrderPlaced("evt-1", order), kSalesTopic);
  v1::EventEnvelope cancelled = Envelope("evt-2", kAnna);
  cancelled.mutable_order_cancelled()->set_order_id(order);
  cancelled.mutable_order_cancelled()->set_reason("installation date too late");
  Publish(cancelled, kSalesTopic);
  ASSERT_TRUE(WaitFor([&] {
    auto charges = Charges(order);
    return charges.size() == 2 && charges[0].status() == v1::CHARGE_STATUS_CANCELLED &&
           charges[1].status() == v1::CHARGE_STATUS_CANCELLED;
  }));
}

}  // namespace
}  // namespace threadline::billing
