// What one very large customer or message does to the journey: a message
// over the envelope limit is parked, a customer with more commitments than
// a card shows gets a bounded card, an update the journey topic cannot take
// is parked once and never sent again, and no subscriber notices any of it.

#include <gmock/gmock.h>

#include <atomic>
#include <set>
#include <thread>

#include "test_events.h"
#include "threadline/bus/embedded.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/topics.h"
#include "threadline/domain/validate.h"
#include "threadline/journey/projection.h"
#include "threadline/journey/projector.h"
#include "threadline/outbox/relay.h"
#include "threadline/testing/testing.h"

namespace threadline::journey {
namespace {

using ::testing::HasSubstr;
using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

using journey_testing::Contact;
using journey_testing::Event;
using journey_testing::kCustomer;
using journey_testing::Registered;
using journey_testing::TimelineIds;

constexpr int kPartitions = 3;

// An order of kCustomer with `n` commitments of kMaxTextLength bytes each,
// due in 2030 (so none is overdue), named "<id>-<i>".
v1::EventEnvelope OrderWithCommitments(int seconds, const std::string& id, int n) {
  auto e = Event(seconds, id);
  auto* p = e.mutable_order_placed();
  p->set_order_id("ord_" + id);
  auto* item = p->add_items();
  item->set_item_id("itm_" + id);
  item->set_sku("FIBRE-1000");
  item->set_description("Fibre 1000");
  for (int i = 0; i < n; ++i) {
    auto* c = p->add_commitments();
    c->set_commitment_id(id + "-" + std::to_string(i));
    c->set_text(std::string(domain::kMaxTextLength, 'p'));
    c->set_owner(v1::DEPARTMENT_INSTALLATION);
    c->mutable_due_by()->set_seconds(1'900'000'000 + i);
  }
  return e;
}

// Every update of every customer, from a subscription on its own thread,
// with the largest one's size and the subscription's end.
class Subscriber {
 public:
  explicit Subscriber(Projector& p) {
    thread_ = std::thread([this, &p] {
      v1::SubscribeJourneyRequest r;
      absl::Status s = p.Subscribe(
          r,
          [this](const v1::JourneyUpdate& u) {
            std::lock_guard lock(mu_);
            ids_.push_back(u.entry().event_id());
            largest_ = std::max(largest_, u.ByteSizeLong());
            return true;
          },
          [this] { return stop_.load(); }, 1000);
      std::lock_guard lock(mu_);
      end_ = s;
      ended_ = true;
    });
  }
  ~Subscriber() {
    stop_ = true;
    thread_.join();
  }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }
  size_t largest() const {
    std::lock_guard lock(mu_);
    return largest_;
  }
  bool ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

 private:
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> ids_;
  size_t largest_ = 0;
  bool ended_ = false;
  absl::Status end_;
  std::thread thread_;
};

class OversizedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = journey_testing::OpenTestBus(dir_.path(), kPartitions);
    ASSERT_NE(bus_, nullptr);
    publisher_ = std::move(*bus_->NewPublisher());
  }

  std::unique_ptr<Projector> OpenProjector(size_t max_update_bytes = 1000 * 1000) {
    ProjectorOptions o;
    o.path = (dir_.path() / "journey").string();
    o.poll_wait = std::chrono::milliseconds(20);
    o.max_update_bytes = max_update_bytes;
    auto p = Projector::Open(o, bus_.get());
    EXPECT_OK(p);
    return p.ok() ? std::move(*p) : nullptr;
  }

  void Publish(const v1::EventEnvelope& e) {
    ASSERT_OK(publisher_->Publish(outbox::ToMessage(e, domain::DepartmentTopic(e.department())),
                                  nullptr));
  }

  // Everything on `topic` so far, once at least `n` messages are there.
  std::vector<bus::Message> ReadAll(const std::string& topic, size_t n) {
    auto consumer = std::move(*bus_->NewConsumer());
    std::vector<bus::PartitionStart> starts;
    for (int part = 0; part < kPartitions; ++part) starts.push_back({{topic, part}, 0});
    EXPECT_OK(consumer->Assign(starts));
    std::vector<bus::Message> got;
    WaitFor([&] {
      auto b = consumer->Poll(100, std::chrono::milliseconds(20));
      if (b.ok()) got.insert(got.end(), b->begin(), b->end());
      return got.size() >= n;
    });
    // Anything more that is already there.
    for (;;) {
      auto b = consumer->Poll(100, std::chrono::milliseconds(50));
      if (!b.ok() || b->empty()) break;
      got.insert(got.end(), b->begin(), b->end());
    }
    return got;
  }

  TempDir dir_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
};

TEST_F(OversizedTest, AFiveMegabyteEnvelopeIsParkedAndSubscribersAreUnaffected) {
  auto p = OpenProjector();
  ASSERT_OK(p->Start());
  Subscriber sub(*p);
  ASSERT_TRUE(WaitFor([&] { return p->Stats().subscribers == 1; }));
  Publish(Registered(0, "e0"));
  // 1,300 commitments of valid text: 5 MB that no command could record.
  v1::EventEnvelope huge = OrderWithCommitments(1, "huge", 1300);
  ASSERT_GT(huge.ByteSizeLong(), 5'000'000u);
  Publish(huge);
  Publish(Contact(2, "e2"));

  ASSERT_TRUE(WaitFor([&] { return sub.ids().size() == 2; }));
  EXPECT_EQ(sub.ids(), (std::vector<std::string>{"e0", "e2"}));
  EXPECT_FALSE(sub.ended());
  EXPECT_EQ(p->Stats().dead_lettered, 1u);
  EXPECT_EQ(TimelineIds(*p), (std::vector<std::string>{"e0", "e2"}));

  auto parked = ReadAll(domain::kDeadLetterTopic, 1);
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].value.size(), huge.ByteSizeLong());
  EXPECT_THAT(parked[0].HeaderValue("deadletter_reason"),
              HasSubstr("bytes; an envelope is at most 1048576"));
}

TEST_F(OversizedTest, TwelveHundredCommitmentsMakeABoundedCardAndSubscribersAreUnaffected) {
  auto p = OpenProjector();
  ASSERT_OK(p->Start());
  Subscriber sub(*p);
  ASSERT_TRUE(WaitFor([&] { return p->Stats().subscribers == 1; }));
  Publish(Registered(0, "e0"));
  // Twelve orders of 100 commitments of 4,000 bytes: each a valid command.
  for (int i = 0; i < 12; ++i) Publish(OrderWithCommitments(1 + i, "o" + std::to_string(i), 100));
  // Installation keeps 30 of the first order's commitments.
  auto done = Event(20, "done", v1::DEPARTMENT_INSTALLATION);
  auto* completed = done.mutable_installation_completed();
  completed->set_work_order_id("wo_1");
  for (int i = 0; i < 30; ++i) {
    auto* outcome = completed->add_commitments();
    outcome->set_commitment_id("o0-" + std::to_string(i));
    outcome->set_kept(true);
  }
  Publish(done);
  Publish(Contact(21, "after"));

  ASSERT_TRUE(WaitFor([&] { return sub.ids().size() == 15; }));
  EXPECT_FALSE(sub.ended());
  // Every update carried its card, none of them large.
  EXPECT_LT(sub.largest(), 256u * 1024);

  auto card = p->GetCustomerContext(kCustomer);
  ASSERT_OK(card);
  EXPECT_LT(card->ByteSizeLong(), 256u * 1024);
  int open = 0, kept = 0;
  for (const auto& c : card->commitments()) {
    (c.state() == v1::COMMITMENT_STATE_KEPT ? kept : open) += 1;
  }
  EXPECT_EQ(open, 25);
  EXPECT_EQ(kept, 10);
  EXPECT_EQ(card->omitted().open_commitments(), 1200u - 30 - 25);
  // 10 aged out of the stored card (it keeps 20 closed), 10 more not shown.
  EXPECT_EQ(card->omitted().closed_commitments(), 20u);
  // The open ones shown are those due soonest: the first of every order
  // are due first (due_by grows with the index within an order).
  for (const auto& c : card->commitments()) {
    if (c.state() != v1::COMMITMENT_STATE_KEPT) {
      EXPECT_LT(std::stoi(c.commitment_id().substr(c.commitment_id().find('-') + 1)), 33)
          << c.commitment_id();
    }
  }
  // One product per order: 12, under the 50 shown.
  EXPECT_EQ(card->products_size(), 12);
  EXPECT_FALSE(card->omitted().products());
  // Every event counts on the card, shown or not.
  EXPECT_EQ(card->timeline_length(), 15u);

  // The export holds the whole card: every open commitment, 20 closed.
  auto exported = p->ExportCustomer(kCustomer);
  ASSERT_OK(exported);
  EXPECT_EQ(exported->card().commitments_size(), 1200 - 30 + 20);
}

TEST_F(OversizedTest, AnUpdateTooLargeForTheJourneyTopicIsParkedOnceAndTheCursorMovesOn) {
  // A limit this small makes the order's entry (its summary quotes the
  // first promise) too large, and nothing else.
  constexpr size_t kLimit = 2000;
  {
    auto p = OpenProjector(kLimit);
    ASSERT_OK(p->Start());
    Publish(Registered(0, "e0"));
    Publish(OrderWithCommitments(1, "big", 1));
    Publish(Contact(2, "e2"));
    ASSERT_TRUE(WaitFor([&] { return p->Stats().published_sequence == 3; }));
    EXPECT_EQ(p->Stats().updates_dead_lettered, 1u);
    p->Stop();
  }
  // A restart publishes nothing again.
  {
    auto p = OpenProjector(kLimit);
    ASSERT_OK(p->Start());
    Publish(Contact(3, "e3"));
    ASSERT_TRUE(WaitFor([&] { return p->Stats().published_sequence == 4; }));
    EXPECT_EQ(p->Stats().updates_dead_lettered, 0u);
    EXPECT_EQ(TimelineIds(*p), (std::vector<std::string>{"e0", "big", "e2", "e3"}));
    p->Stop();
  }
  std::multiset<std::string> on_topic;
  for (const auto& m : ReadAll(domain::kJourneyTopic, 3)) {
    v1::JourneyUpdate u;
    ASSERT_TRUE(u.ParseFromString(m.value));
    on_topic.insert(u.entry().event_id());
  }
  EXPECT_EQ(on_topic, (std::multiset<std::string>{"e0", "e2", "e3"}));

  auto parked = ReadAll(domain::kDeadLetterTopic, 1);
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_THAT(parked[0].HeaderValue("deadletter_reason"),
              HasSubstr("is larger than the journey topic takes (2000)"));
  EXPECT_EQ(parked[0].HeaderValue("deadletter_source_topic"), domain::kJourneyTopic);
  EXPECT_EQ(parked[0].HeaderValue("deadletter_journey_sequence"), "2");
  v1::JourneyUpdate small;
  ASSERT_TRUE(small.ParseFromString(parked[0].value));
  EXPECT_EQ(small.entry().event_id(), "big");
  EXPECT_EQ(small.entry().customer_id(), kCustomer);
  EXPECT_TRUE(small.entry().summary().empty());
  EXPECT_LT(parked[0].value.size(), kLimit);
}

}  // namespace
}  // namespace threadline::journey
