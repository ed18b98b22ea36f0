#include "threadline/bus/offset_consumer.h"

#include <gtest/gtest.h>

#include <set>

#include "threadline/bus/embedded.h"
#include "threadline/testing/testing.h"

namespace threadline::bus {
namespace {

using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

constexpr int32_t kPartitions = 3;

// State that stores its input offsets with itself, as a projection does:
// the applied values and the offsets change together or not at all.
struct Store {
  std::mutex mu;
  std::multiset<std::string> applied;  // guarded by mu
  Offsets offsets;                     // guarded by mu
  int fail_next = 0;                   // batches to refuse, guarded by mu
  int attempts = 0;                    // guarded by mu

  absl::StatusOr<Offsets> Load() {
    std::lock_guard lock(mu);
    return offsets;
  }
  absl::Status Apply(const std::vector<Message>& batch, const Offsets& next) {
    std::lock_guard lock(mu);
    ++attempts;
    if (fail_next > 0) {
      --fail_next;
      return absl::UnavailableError("disk full");
    }
    for (const auto& m : batch) applied.insert(m.value);
    for (const auto& [tp, offset] : next) offsets[tp] = offset;
    return absl::OkStatus();
  }
  size_t Applied() {
    std::lock_guard lock(mu);
    return applied.size();
  }
};

class OffsetConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedBusOptions o;
    o.path = (dir_.path() / "bus").string();
    o.sync = false;
    bus_ = std::move(*OpenEmbeddedBus(o));
    ASSERT_OK(bus_->EnsureTopics({{"a", kPartitions}, {"b", kPartitions}}));
    publisher_ = std::move(*bus_->NewPublisher());
  }

  void Publish(const std::string& topic, int from, int to) {
    for (int i = from; i < to; ++i) {
      std::string v = topic + std::to_string(i);
      ASSERT_OK(publisher_->Publish({topic, "key" + std::to_string(i), v, {}}, nullptr));
    }
    ASSERT_OK(publisher_->Flush(std::chrono::seconds(10)));
  }

  std::unique_ptr<OffsetConsumer> Open(
      Store& store, std::chrono::milliseconds backoff = std::chrono::milliseconds(10)) {
    OffsetConsumerOptions o;
    o.name = "test";
    o.topics = {"a", "b"};
    o.batch_size = 4;
    o.poll_wait = std::chrono::milliseconds(20);
    o.retry_backoff = backoff;
    auto c = OffsetConsumer::Open(
        bus_.get(), o, [&] { return store.Load(); },
        [&](const std::vector<Message>& b, const Offsets& n) { return store.Apply(b, n); });
    EXPECT_OK(c);
    return c.ok() ? std::move(*c) : nullptr;
  }

  // The partitions that moved (a store holds no offset for the others).
  static Offsets Moved(const Offsets& o) {
    Offsets out;
    for (const auto& [tp, offset] : o) {
      if (offset > 0) out[tp] = offset;
    }
    return out;
  }
  static int64_t Sum(const Offsets& o) {
    int64_t n = 0;
    for (const auto& [tp, offset] : o) n += offset;
    return n;
  }

  TempDir dir_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<Publisher> publisher_;
};

TEST_F(OffsetConsumerTest, AFailedBatchIsReadAgainFromTheStoredOffsetsAndAppliedOnce) {
  Publish("a", 0, 20);
  Publish("b", 0, 10);
  Store store;
  store.fail_next = 3;
  auto c = Open(store);
  ASSERT_NE(c, nullptr);
  c->Start();
  ASSERT_TRUE(WaitFor([&] { return c->CaughtUp(); }));
  c->Stop();
  EXPECT_EQ(c->Stats().errors, 3u);
  EXPECT_EQ(c->Stats().consumed, 30u);
  EXPECT_EQ(store.Applied(), 30u);
  // Every message once: the refused batches came again, nothing doubled.
  std::set<std::string> distinct(store.applied.begin(), store.applied.end());
  EXPECT_EQ(distinct.size(), 30u);
  EXPECT_GE(store.attempts, 3 + 30 / 4);
  EXPECT_EQ(Moved(c->Positions()), store.offsets);
  EXPECT_EQ(Sum(c->Positions()), 30);
}

TEST_F(OffsetConsumerTest, ARestartResumesAfterWhatWasStored) {
  Publish("a", 0, 9);
  Store store;
  {
    auto c = Open(store);
    ASSERT_NE(c, nullptr);
    ASSERT_OK(c->CatchUp(nullptr));
  }
  Publish("a", 9, 12);
  Publish("b", 0, 2);
  auto c = Open(store);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Moved(c->Positions()), store.offsets);  // assigned at the stored offsets
  EXPECT_EQ(Sum(c->Positions()), 9);
  EXPECT_FALSE(c->CaughtUp());
  ASSERT_OK(c->CatchUp(nullptr));
  EXPECT_EQ(c->Stats().consumed, 5u);  // only what came after the restart
  EXPECT_EQ(store.Applied(), 14u);
  EXPECT_TRUE(store.applied.count("a11"));
  EXPECT_TRUE(store.applied.count("b1"));
}

TEST_F(OffsetConsumerTest, CaughtUpMeansTheEndOffsetsOfOpen) {
  Publish("a", 0, 6);
  Store store;
  auto c = Open(store);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->CaughtUp());
  EXPECT_EQ(Sum(c->Ends()), 6);
  Publish("b", 0, 50);  // after Open: not part of catching up
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  ASSERT_OK(c->CatchUp([&](uint64_t done, uint64_t total) { progress.push_back({done, total}); }));
  EXPECT_TRUE(c->CaughtUp());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(uint64_t{6}, uint64_t{6}));
  for (const auto& [done, total] : progress) EXPECT_EQ(total, 6u);
  // The later messages are read by a running consumer all the same.
  c->Start();
  ASSERT_TRUE(WaitFor([&] { return store.Applied() == 56; }));
  c->Stop();
}

TEST_F(OffsetConsumerTest, CatchUpReturnsTheFirstErrorAndResumesFromTheStoredOffsets) {
  Publish("a", 0, 10);
  Store store;
  store.fail_next = 1;
  auto c = Open(store);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->CatchUp(nullptr).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Sum(c->Positions()), 0);
  ASSERT_OK(c->CatchUp(nullptr));
  EXPECT_EQ(store.Applied(), 10u);
  EXPECT_EQ(c->Stats().errors, 1u);
}

TEST_F(OffsetConsumerTest, StopDuringTheBackOffReturnsAtOnce) {
  Publish("a", 0, 3);
  Store store;
  store.fail_next = 1'000'000;
  auto c = Open(store, std::chrono::hours(1));
  ASSERT_NE(c, nullptr);
  c->Start();
  ASSERT_TRUE(WaitFor([&] { return c->Stats().errors == 1; }));
  const auto start = std::chrono::steady_clock::now();
  c->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(store.Applied(), 0u);
  EXPECT_EQ(Sum(c->Positions()), 0);
}

TEST_F(OffsetConsumerTest, StopDuringAnIdlePollReturnsAtOnce) {
  Store store;
  OffsetConsumerOptions o;
  o.name = "idle";
  o.topics = {"a"};
  o.poll_wait = std::chrono::hours(1);
  auto c = OffsetConsumer::Open(
      bus_.get(), o, [&] { return store.Load(); },
      [&](const std::vector<Message>& b, const Offsets& n) { return store.Apply(b, n); });
  ASSERT_OK(c);
  EXPECT_TRUE((*c)->CaughtUp());  // nothing to read
  (*c)->Start();
  const auto start = std::chrono::steady_clock::now();
  (*c)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(OffsetConsumerTest, ANamelessConsumerIsRefused) {
  auto c = OffsetConsumer::Open(
      bus_.get(), {}, [] { return Offsets{}; },
      [](const std::vector<Message>&, const Offsets&) { return absl::OkStatus(); });
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace threadline::bus
