// The directory reaction on the embedded bus: sales' CustomerRegistered
// envelopes are published to threadline.sales.v1 as the sales relay would.

#include "threadline/bus/embedded.h"
#include "threadline/command/testing.h"
#include "threadline/domain/domain.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/outbox/relay.h"
#include "threadline/support/service.h"
#include "threadline/testing/testing.h"

namespace threadline::support {
namespace {

using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
constexpr char kAnna[] = "cus_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kBert[] = "cus_0190bbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr char kCarl[] = "cus_0190cccccccccccccccccccccccccccc";

class DirectoryReactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = command::testing::TestBus::Open(dir_.path(), {"threadline.sales.v1"});
    ASSERT_OK(b);
    bus_ = std::move(*b);
    auto d = command::testing::OpenTestDepartment(dir_.path(), "support", v1::DEPARTMENT_SUPPORT,
                                                  &clock_);
    ASSERT_OK(d);
    store_ = std::move(d->store);
    env_ = d->env;
    service_ = std::make_unique<SupportService>(env_);
    command::ReactorOptions ro;
    ro.consumer = kDirectoryConsumer;
    ro.topics = {"threadline.sales.v1"};
    ro.poll_wait = std::chrono::milliseconds(20);
    reactor_ =
        std::make_unique<command::Reactor>(env_, bus_->bus(), ro, NewDirectoryReaction(env_));
    ASSERT_OK(reactor_->Start());
  }
  void TearDown() override { reactor_->Stop(); }

  static v1::EventEnvelope Registered(const std::string& event_id, const std::string& customer,
                                      std::vector<std::string> phones) {
    v1::EventEnvelope e;
    e.set_event_id(event_id);
    e.set_customer_id(customer);
    e.set_aggregate_type("customer");
    e.set_aggregate_id(customer);
    e.set_version(1);
    e.set_department(v1::DEPARTMENT_SALES);
    e.set_channel(v1::CHANNEL_SHOP);
    e.set_correlation_id("reg-" + event_id);
    e.set_schema_version(1);
    *e.mutable_occurred_at() = domain::ToProto(kT0);
    *e.mutable_recorded_at() = e.occurred_at();
    auto* p = e.mutable_customer_registered();
    p->set_customer_id(customer);
    p->set_name("Anna de Vries");
    for (auto& phone : phones) p->add_phone_numbers(phone);
    p->add_emails("anna@example.org");
    return e;
  }
  void Publish(const v1::EventEnvelope& e) { ASSERT_OK(bus_->Publish(e, "threadline.sales.v1")); }
  std::string Call(const std::string& request_id, const std::string& number) {
    v1::RecordMissedCallRequest r;
    r.set_request_id(request_id);
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_caller_number(number);
    auto resp = service_->RecordMissedCall(command::Invocation{}, r);
    EXPECT_OK(resp);
    return resp.ok() ? resp->callback_id() : "";
  }
  std::vector<v1::EventEnvelope> Stream(const std::string& callback_id) {
    auto events = store_->ReadStream("callback-" + callback_id);
    EXPECT_OK(events);
    return events.ok() ? *events : std::vector<v1::EventEnvelope>{};
  }
  size_t Pending() { return store_->ScanClaims("pending_missed_call", "", 100)->size(); }

  TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<command::testing::TestBus> bus_;
  std::unique_ptr<eventstore::EventStore> store_;
  command::Env env_;
  std::unique_ptr<SupportService> service_;
  std::unique_ptr<command::Reactor> reactor_;
};

TEST_F(DirectoryReactionTest, CallFromAnUnknownNumberIsLinkedWhenItsOwnerRegistersOnce) {
  std::string first = Call("m1", "+31612345678");
  std::string second = Call("m2", "0031 6 1234 5678");
  ASSERT_EQ(Pending(), 2u);
  auto registered = Registered("evt-1", kAnna, {"+31 6 1234 5678"});
  Publish(registered);
  Publish(registered);  // a re-publishing relay delivers it again
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 2; }));
  for (const auto& id : {first, second}) {
    auto events = Stream(id);
    ASSERT_EQ(events.size(), 2u) << id;
    const auto& link = events[1];
    ASSERT_TRUE(link.has_missed_call_linked());
    EXPECT_EQ(link.customer_id(), kAnna);
    EXPECT_EQ(link.causation_id(), "evt-1");
    EXPECT_EQ(link.correlation_id(), "reg-evt-1");
    EXPECT_EQ(link.department(), v1::DEPARTMENT_SUPPORT);
    EXPECT_EQ(link.missed_call_linked().caller_number(), "+31612345678");
  }
  EXPECT_EQ(Pending(), 0u);
  EXPECT_EQ(reactor_->Stats().reactions, 2u);
  // The directory knows the number now: the next call is attached at once.
  v1::RecordMissedCallRequest r;
  r.set_request_id("m3");
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_caller_number("+31612345678");
  auto third = service_->RecordMissedCall(command::Invocation{}, r);
  ASSERT_OK(third);
  EXPECT_EQ(third->customer_id(), kAnna);
}

TEST_F(DirectoryReactionTest, RedeliveryAfterARestartLinksNothingTwice) {
  std::string call = Call("m1", "+31612345678");
  auto registered = Registered("evt-1", kAnna, {"+31612345678"});
  Publish(registered);
  ASSERT_TRUE(WaitFor([&] { return Stream(call).size() == 2; }));
  // A reactor that lost its offsets sees the registration again.
  reactor_->Stop();
  command::ReactorOptions ro;
  ro.consumer = "support.directory.replay";
  ro.topics = {"threadline.sales.v1"};
  ro.poll_wait = std::chrono::milliseconds(20);
  command::Reactor replay(env_, bus_->bus(), ro, NewDirectoryReaction(env_));
  ASSERT_OK(replay.Start());
  ASSERT_TRUE(WaitFor([&] { return replay.CaughtUp(); }));
  replay.Stop();
  EXPECT_EQ(Stream(call).size(), 2u);
}

TEST_F(DirectoryReactionTest, ACrashBetweenDirectoryAndLinkIsRepairedByRedelivery) {
  std::string call = Call("m1", "+31612345678");
  auto registered = Registered("evt-1", kAnna, {"+31612345678"});
  // The first delivery dies after the directory write, before the link.
  auto react = NewDirectoryReaction(env_);
  auto lost = react(registered);
  ASSERT_OK(lost);
  ASSERT_EQ(lost->size(), 1u);
  EXPECT_EQ(Pending(), 0u);
  EXPECT_EQ(Stream(call).size(), 1u);
  Publish(registered);
  Publish(registered);
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 2; }));
  auto events = Stream(call);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].customer_id(), kAnna);
}

TEST_F(DirectoryReactionTest, ASharedNumberLinksTheCallToNobody) {
  const std::string landline = "+31201234567";
  std::string call = Call("m1", landline);
  Publish(Registered("evt-1", kAnna, {landline, "+31612345678"}));
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 1; }));
  EXPECT_EQ(Stream(call).size(), 2u);  // Anna's, as far as anyone could know
  Publish(Registered("evt-2", kBert, {landline}));
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 2; }));
  // Bert shares the landline: its calls are no longer given to Anna...
  v1::RecordMissedCallRequest r;
  r.set_request_id("m2");
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_caller_number(landline);
  auto later = service_->RecordMissedCall(command::Invocation{}, r);
  ASSERT_OK(later);
  EXPECT_EQ(later->customer_id(), "");
  EXPECT_EQ(Pending(), 1u);
  // ...nor to the next person who registers it.
  Publish(Registered("evt-3", kCarl, {landline}));
  ASSERT_TRUE(WaitFor([&] { return reactor_->Stats().consumed == 3; }));
  EXPECT_EQ(Stream(later->callback_id()).size(), 1u);
  EXPECT_EQ(Pending(), 1u);
}

}  // namespace
}  // namespace threadline::support
