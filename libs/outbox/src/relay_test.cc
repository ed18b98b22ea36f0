#include "threadline/outbox/relay.h"

#include <map>
#include <set>

#include "threadline/bus/embedded.h"
#include "threadline/testing/testing.h"

namespace threadline::outbox {
namespace {

using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

constexpr char kTopic[] = "threadline.sales.v1";

// Fails the first delivery of every `fail_every`-th message it sees, then
// behaves; the real publisher does the rest.
class FlakyPublisher final : public bus::Publisher {
 public:
  FlakyPublisher(bus::Publisher* real, int fail_every) : real_(real), fail_every_(fail_every) {}
  absl::Status Publish(bus::OutMessage m, bus::DeliveryCallback done) override {
    if (++count_ % fail_every_ == 0 && failed_.insert(m.key + m.value).second) {
      done(absl::UnavailableError("broker down"), -1, -1);
      return absl::OkStatus();
    }
    return real_->Publish(std::move(m), std::move(done));
  }
  absl::Status Flush(std::chrono::milliseconds t) override { return real_->Flush(t); }

 private:
  bus::Publisher* real_;
  int fail_every_;
  int count_ = 0;
  std::set<std::string> failed_;
};

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventstore::Options so;
    so.path = (dir_.path() / "store").string();
    store_ = std::move(*eventstore::EventStore::Open(so));
    bus::EmbeddedBusOptions bo;
    bo.path = (dir_.path() / "bus").string();
    bus_ = std::move(*bus::OpenEmbeddedBus(bo));
    ASSERT_OK(bus_->EnsureTopics({{kTopic, 4}}));
    publisher_ = std::move(*bus_->NewPublisher());
  }

  void AppendEvents(int n) {
    for (int i = 0; i < n; ++i) {
      eventstore::AppendRequest r;
      std::string customer = "cus_" + std::to_string(i % 7);
      r.stream = "customer-" + customer;
      v1::EventEnvelope e;
      e.set_event_id("evt-" + std::to_string(next_id_++));
      e.set_customer_id(customer);
      e.mutable_contact_logged()->set_note("n");
      r.events.push_back(e);
      ASSERT_OK(store_->Append(std::move(r)));
    }
  }

  // Reads the whole topic: every message, in per-partition order.
  std::vector<bus::Message> ReadTopic(size_t expect_at_least) {
    auto consumer = std::move(*bus_->NewConsumer());
    std::vector<bus::PartitionStart> starts;
    for (int p = 0; p < 4; ++p) starts.push_back({{kTopic, p}, 0});
    EXPECT_OK(consumer->Assign(starts));
    std::vector<bus::Message> all;
    WaitFor([&] {
      auto batch = consumer->Poll(1000, std::chrono::milliseconds(50));
      if (batch.ok()) all.insert(all.end(), batch->begin(), batch->end());
      return all.size() >= expect_at_least;
    });
    return all;
  }

  TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
  int next_id_ = 0;
};

TEST_F(RelayTest, PublishesEveryEventInOrderAndMovesTheCursor) {
  AppendEvents(50);
  RelayOptions o;
  o.topic = kTopic;
  OutboxRelay relay(store_.get(), publisher_.get(), o);
  ASSERT_OK(relay.Start());
  AppendEvents(50);  // appended while running: woken by the store
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().cursor == 100; }));
  relay.Stop();
  EXPECT_EQ(store_->OutboxCursor("bus")->value(), 100u);

  auto messages = ReadTopic(100);
  ASSERT_EQ(messages.size(), 100u);
  std::map<std::string, int> last_per_customer;
  for (const auto& m : messages) {
    v1::EventEnvelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    EXPECT_EQ(m.key, e.customer_id());
    EXPECT_EQ(m.partition, bus::PartitionForKey(m.key, 4));
    EXPECT_EQ(m.HeaderValue(kHeaderEventType), "ContactLogged");
    EXPECT_EQ(m.HeaderValue(kHeaderEventId), e.event_id());
    int n = std::stoi(e.event_id().substr(4));
    auto [it, inserted] = last_per_customer.emplace(m.key, n);
    if (!inserted) {
      EXPECT_LT(it->second, n) << "events of one customer out of order";
      it->second = n;
    }
  }
}

TEST_F(RelayTest, FailedDeliveriesAreRepublishedAndNothingIsLost) {
  AppendEvents(200);
  FlakyPublisher flaky(publisher_.get(), 17);
  RelayOptions o;
  o.topic = kTopic;
  o.retry_backoff = std::chrono::milliseconds(1);
  OutboxRelay relay(store_.get(), &flaky, o);
  ASSERT_OK(relay.Start());
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().cursor == 200; }));
  auto stats = relay.Stats();
  relay.Stop();
  EXPECT_GT(stats.failures, 0u);
  EXPECT_GT(stats.published, 200u);  // re-published after failures

  auto messages = ReadTopic(200);
  std::set<std::string> ids;
  for (const auto& m : messages) ids.insert(m.HeaderValue(kHeaderEventId));
  EXPECT_EQ(ids.size(), 200u);  // every event arrived; duplicates are dropped by id
}

TEST_F(RelayTest, ResumesFromTheSavedCursorAfterARestart) {
  AppendEvents(30);
  RelayOptions o;
  o.topic = kTopic;
  {
    OutboxRelay relay(store_.get(), publisher_.get(), o);
    ASSERT_OK(relay.Start());
    ASSERT_TRUE(WaitFor([&] { return relay.Stats().cursor == 30; }));
    relay.Stop();
  }
  AppendEvents(10);
  OutboxRelay relay(store_.get(), publisher_.get(), o);
  ASSERT_OK(relay.Start());
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().cursor == 40; }));
  EXPECT_EQ(relay.Stats().published, 10u);  // only the new ones
  relay.Stop();
  EXPECT_EQ(ReadTopic(40).size(), 40u);
}

}  // namespace
}  // namespace threadline::outbox
