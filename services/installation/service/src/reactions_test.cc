// The sales reaction on the embedded bus: sales' envelopes are published to
// threadline.sales.v1 as the sales relay would, and a command::Reactor
// applies them.

#include "threadline/bus/embedded.h"
#include "threadline/command/testing.h"
#include "threadline/domain/test_context.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/installation/service.h"
#include "threadline/outbox/relay.h"
#include "threadline/testing/testing.h"

namespace threadline::installation {
namespace {

using ::threadline::domain::TestId;
using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
const std::string kAnna = TestId("cus", 1);
const std::string kBert = TestId("cus", 2);

v1::EventEnvelope Sales(const std::string& event_id, const std::string& customer) {
  v1::EventEnvelope e;
  e.set_event_id(event_id);
  e.set_customer_id(customer);
  e.set_aggregate_type("customer");
  e.set_aggregate_id(customer);
  e.set_department(v1::DEPARTMENT_SALES);
  e.set_correlation_id("corr-" + event_id);
  *e.mutable_occurred_at() = domain::ToProto(kT0);
  return e;
}

v1::EventEnvelope OrderPlaced(const std::string& event_id, const std::string& customer,
                              const std::string& order_id, bool needs_installation = true) {
  v1::EventEnvelope e = Sales(event_id, customer);
  auto* p = e.mutable_order_placed();
  p->set_order_id(order_id);
  auto* item = p->add_items();
  item->set_item_id(TestId("itm", 1));
  item->set_sku("LINE-FTTH");
  item->set_description("Fibre line");
  item->set_needs_installation(needs_installation);
  return e;
}

v1::EventEnvelope OrderCancelled(const std::string& event_id, const std::string& customer,
                                 const std::string& order_id) {
  v1::EventEnvelope e = Sales(event_id, customer);
  e.mutable_order_cancelled()->set_order_id(order_id);
  e.mutable_order_cancelled()->set_reason("moved abroad");
  return e;
}

class SalesReactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = command::testing::TestBus::Open(dir_.path(), {"threadline.sales.v1"});
    ASSERT_OK(b);
    bus_ = std::move(*b);
    auto d = command::testing::OpenTestDepartment(dir_.path(), "installation",
                                                  v1::DEPARTMENT_INSTALLATION, &clock_);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    env_ = d->env;
    service_ = std::make_unique<InstallationService>(env_);
    command::ReactorOptions ro = SalesReactorOptions();
    ro.poll_wait = std::chrono::milliseconds(20);
    reactor_ = std::make_unique<command::Reactor>(env_, bus_->bus(), ro,
                                                  NewSalesReaction(env_, &counters_));
    ASSERT_OK(reactor_->Start());
  }
  void TearDown() override { reactor_->Stop(); }

  void Publish(const v1::EventEnvelope& e) { ASSERT_OK(bus_->Publish(e, "threadline.sales.v1")); }
  std::vector<v1::WorkOrder> ByOrder(const std::string& order_id) {
    v1::ListWorkOrdersRequest r;
    r.set_order_id(order_id);
    auto listed = service_->ListWorkOrders(r);
    EXPECT_OK(listed);
    if (!listed.ok()) return {};
    return {listed->work_orders().begin(), listed->work_orders().end()};
  }

  TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<command::testing::TestBus> bus_;
  std::unique_ptr<eventstore::EventStore> store_;
  command::Env env_;
  std::unique_ptr<InstallationService> service_;
  ReactionCounters counters_;
  std::unique_ptr<command::Reactor> reactor_;
};

TEST_F(SalesReactionTest, TheSameOrderPlacedTwiceCreatesOneWorkOrder) {
  const std::string order = TestId("ord", 10);
  auto placed = OrderPlaced("evt-1", kAnna, order);
  Publish(placed);
  Publish(placed);  // a re-publishing relay delivers it again
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 2; }));
  auto work_orders = ByOrder(order);
  ASSERT_EQ(work_orders.size(), 1u);
  EXPECT_EQ(work_orders[0].customer_id(), kAnna);
  EXPECT_EQ(work_orders[0].order_id(), order);
  auto events = store_->ReadStream("work_order-" + work_orders[0].work_order_id());
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].causation_id(), "evt-1");
  EXPECT_EQ((*events)[0].correlation_id(), "corr-evt-1");
  EXPECT_EQ((*events)[0].department(), v1::DEPARTMENT_INSTALLATION);
  // The customer index knows it too.
  v1::ListWorkOrdersRequest r;
  r.set_customer_id(kAnna);
  auto listed = service_->ListWorkOrders(r);
  ASSERT_OK(listed);
  EXPECT_EQ(listed->work_orders_size(), 1);
  EXPECT_EQ(reactor_->Stats().errors, 0u);
}

TEST_F(SalesReactionTest, OrderWithoutInstallationCreatesNothing) {
  const std::string shipped = TestId("ord", 11);
  const std::string installed = TestId("ord", 12);
  Publish(OrderPlaced("evt-1", kAnna, shipped, /*needs_installation=*/false));
  Publish(OrderPlaced("evt-2", kAnna, installed));
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 2; }));
  EXPECT_TRUE(ByOrder(shipped).empty());
  EXPECT_EQ(ByOrder(installed).size(), 1u);
}

TEST_F(SalesReactionTest, OrderCancelledCancelsItsOpenWorkOrderOnce) {
  const std::string order = TestId("ord", 20);
  const std::string other = TestId("ord", 21);
  Publish(OrderPlaced("evt-1", kAnna, order));
  Publish(OrderPlaced("evt-2", kAnna, other));
  auto cancelled = OrderCancelled("evt-3", kAnna, order);
  Publish(cancelled);
  Publish(cancelled);
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 4; }));
  auto work_orders = ByOrder(order);
  ASSERT_EQ(work_orders.size(), 1u);
  EXPECT_EQ(work_orders[0].status(), v1::WORK_ORDER_STATUS_CANCELLED);
  EXPECT_EQ(work_orders[0].version(), 2u);  // cancelled once
  // Another order of the same customer is untouched.
  ASSERT_EQ(ByOrder(other).size(), 1u);
  EXPECT_EQ(ByOrder(other)[0].status(), v1::WORK_ORDER_STATUS_OPEN);
}

TEST_F(SalesReactionTest, UnroutableOrderIsParkedAndTheRestFlows) {
  const std::string bad = TestId("ord", 30);
  const std::string good = TestId("ord", 31);
  auto unroutable = OrderPlaced("evt-bad", "", bad);
  // Keyed like a real customer's message so that it shares Bert's partition
  // and would block his order if it were retried forever.
  auto message = outbox::ToMessage(unroutable, "threadline.sales.v1");
  message.key = kBert;
  ASSERT_OK(bus_->publisher()->Publish(std::move(message), nullptr));
  Publish(OrderPlaced("evt-good", kBert, good));
  ASSERT_TRUE(WaitFor([&] { return ByOrder(good).size() == 1; }));
  EXPECT_TRUE(ByOrder(bad).empty());
  EXPECT_EQ(counters_.parked.load(), 1u);
}

}  // namespace
}  // namespace threadline::installation
