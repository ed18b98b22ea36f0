// The reactor's retries, on the embedded bus and a real event store: a
// store that fails for a while, a bus that fails for a while, and a race
// lost to another writer. Each ends with every reaction applied once.

#include "threadline/command/reactor.h"

#include <atomic>

#include "test_store.h"
#include "threadline/bus/embedded.h"
#include "threadline/testing/testing.h"

namespace threadline::command {
namespace {

using ::threadline::command::testing::InterposedStore;
using ::threadline::command::testing::Note;
using ::threadline::command::testing::Notes;
using ::threadline::testing::WaitFor;

constexpr char kTopic[] = "threadline.sales.v1";

// A bus whose consumers fail their next `failures` polls.
class FlakyBus final : public bus::Bus {
 public:
  explicit FlakyBus(bus::Bus* inner) : inner_(inner) {}
  std::atomic<int> failures{0};

  absl::Status EnsureTopics(const std::vector<bus::TopicSpec>& t) override {
    return inner_->EnsureTopics(t);
  }
  absl::StatusOr<int32_t> PartitionCount(const std::string& t) override {
    return inner_->PartitionCount(t);
  }
  absl::StatusOr<std::unique_ptr<bus::Publisher>> NewPublisher() override {
    return inner_->NewPublisher();
  }
  absl::StatusOr<std::vector<int64_t>> EndOffsets(const std::string& t) override {
    return inner_->EndOffsets(t);
  }
  absl::StatusOr<std::unique_ptr<bus::Consumer>> NewConsumer() override {
    ASSIGN_OR_RETURN(auto c, inner_->NewConsumer());
    return std::unique_ptr<bus::Consumer>(new FlakyConsumer(std::move(c), &failures));
  }

 private:
  class FlakyConsumer final : public bus::Consumer {
   public:
    FlakyConsumer(std::unique_ptr<bus::Consumer> inner, std::atomic<int>* failures)
        : inner_(std::move(inner)), failures_(failures) {}
    absl::Status Assign(const std::vector<bus::PartitionStart>& s) override {
      return inner_->Assign(s);
    }
    absl::StatusOr<std::vector<bus::Message>> Poll(size_t max,
                                                   std::chrono::milliseconds timeout) override {
      if (failures_->load() > 0) {
        --*failures_;
        return absl::UnavailableError("broker unreachable");
      }
      return inner_->Poll(max, timeout);
    }
    void Wake() override { inner_->Wake(); }

   private:
    std::unique_ptr<bus::Consumer> inner_;
    std::atomic<int>* failures_;
  };
  bus::Bus* inner_;
};

class ReactorRetryTest : public command::testing::StoreTest {
 protected:
  ReactorRetryTest() : StoreTest(v1::DEPARTMENT_INSTALLATION) {}
  void SetUp() override {
    StoreTest::SetUp();
    bus::EmbeddedBusOptions bo;
    bo.path = (dir_.path() / "bus").string();
    bo.sync = false;
    auto b = bus::OpenEmbeddedBus(bo);
    ASSERT_OK(b);
    embedded_ = std::move(*b);
    bus_ = std::make_unique<FlakyBus>(embedded_.get());
    ASSERT_OK(bus_->EnsureTopics({{kTopic, 2}}));
    auto p = bus_->NewPublisher();
    ASSERT_OK(p);
    publisher_ = std::move(*p);
  }
  void TearDown() override {
    if (reactor_) reactor_->Stop();
  }

  // Every message becomes one note on its customer's stream.
  void StartReactor() {
    ReactorOptions ro;
    ro.consumer = "test.reactions";
    ro.topics = {kTopic};
    ro.poll_wait = std::chrono::milliseconds(20);
    reactor_ = std::make_unique<Reactor>(
        env_, bus_.get(), ro,
        [](const v1::EventEnvelope& in) -> absl::StatusOr<std::vector<Reaction>> {
          std::vector<Reaction> out;
          out.push_back(ReactOn<Notes>(
              Target{"notes", in.customer_id(), in.customer_id()},
              [in](const Notes&, const domain::CommandContext&) -> absl::StatusOr<Decision> {
                v1::EventEnvelope e;
                e.mutable_contact_logged()->set_note(in.event_id());
                return Decision({e});
              }));
          return out;
        });
    ASSERT_OK(reactor_->Start());
  }

  void Publish(const std::string& event_id, const std::string& customer) {
    v1::EventEnvelope e;
    e.set_event_id(event_id);
    e.set_customer_id(customer);
    e.mutable_contact_logged()->set_note("in");
    bus::OutMessage m{kTopic, customer, e.SerializeAsString(), {}};
    ASSERT_OK(publisher_->Publish(std::move(m), nullptr));
  }

  std::vector<std::string> NotesOf(const std::string& customer) {
    std::vector<std::string> out;
    auto events = real_->ReadStream("notes-" + customer);
    if (!events.ok()) return out;
    for (const auto& e : *events) out.push_back(e.contact_logged().note());
    return out;
  }

  // Waits until the reactor has stored offsets past all `n` messages.
  bool Consumed(uint64_t n) {
    return WaitFor([&] { return reactor_->Stats().consumed >= n && reactor_->CaughtUp(); });
  }

  std::unique_ptr<bus::Bus> embedded_;
  std::unique_ptr<FlakyBus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<Reactor> reactor_;
};

TEST_F(ReactorRetryTest, AStoreThatFailsForAWhileEndsWithEveryReactionOnce) {
  std::atomic<int> failing{3};
  store_->before_append = [&]() -> absl::Status {
    if (failing.load() <= 0) return absl::OkStatus();
    --failing;
    return absl::UnavailableError("disk busy");
  };
  Publish("e1", "cus_a");
  Publish("e2", "cus_a");
  Publish("e3", "cus_b");
  StartReactor();
  ASSERT_TRUE(Consumed(3)) << reactor_->Stats().errors;
  EXPECT_EQ(NotesOf("cus_a"), (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(NotesOf("cus_b"), (std::vector<std::string>{"e3"}));
  EXPECT_GE(reactor_->Stats().errors, 1u);
  EXPECT_EQ(reactor_->Stats().reactions, 3u);
}

TEST_F(ReactorRetryTest, ABusThatFailsForAWhileEndsWithEveryReactionOnce) {
  bus_->failures = 3;
  Publish("e1", "cus_a");
  Publish("e2", "cus_a");
  StartReactor();
  ASSERT_TRUE(Consumed(2)) << reactor_->Stats().errors;
  EXPECT_EQ(NotesOf("cus_a"), (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(bus_->failures.load(), 0);
  EXPECT_GE(reactor_->Stats().errors, 3u);
}

TEST_F(ReactorRetryTest, ARaceLostToAnotherWriterIsDecidedAgainNotSkipped) {
  std::atomic<bool> raced{false};
  store_->before_append = [&]() -> absl::Status {
    if (raced.exchange(true)) return absl::OkStatus();
    eventstore::AppendRequest r;
    r.stream = "notes-cus_a";
    r.expected_version = StreamVersion(0);
    v1::EventEnvelope e;
    e.set_event_id("elsewhere");
    e.mutable_contact_logged()->set_note("elsewhere");
    r.events.push_back(e);
    return real_->Append(std::move(r)).status();
  };
  Publish("e1", "cus_a");
  StartReactor();
  ASSERT_TRUE(Consumed(1));
  EXPECT_EQ(NotesOf("cus_a"), (std::vector<std::string>{"elsewhere", "e1"}));
  EXPECT_EQ(reactor_->Stats().errors, 0u);
}

// Envelopes whose ids could name another customer's stream (a NUL), or are
// too long or not UTF-8, are skipped and counted before any reaction sees
// them; the reactor goes on with the next message.
TEST_F(ReactorRetryTest, InvalidEnvelopesAreSkippedAndCountedAndReachNoStream) {
  Publish("e1", std::string("cus_a\0zz", 8));
  Publish("e2", std::string(10'240, 'c'));
  Publish("e3", "cus_a\xc3\x28");
  Publish("e4\xff", "cus_a");
  Publish("e5", "cus_a");
  StartReactor();
  ASSERT_TRUE(Consumed(5));
  EXPECT_EQ(NotesOf("cus_a"), (std::vector<std::string>{"e5"}));
  // Not UTF-8 (e3, e4) does not even parse: skipped as undecodable.
  EXPECT_EQ(reactor_->Stats().invalid, 2u);
  EXPECT_EQ(reactor_->Stats().skipped, 4u);
  EXPECT_EQ(reactor_->Stats().reactions, 1u);
}

TEST_F(ReactorRetryTest, ARedeliveredMessageAppliesNothingTwice) {
  Publish("e1", "cus_a");
  StartReactor();
  ASSERT_TRUE(Consumed(1));
  reactor_->Stop();
  // The same event again, as a relay that crashed before its cursor moved
  // would publish it.
  Publish("e1", "cus_a");
  StartReactor();
  ASSERT_TRUE(Consumed(1));
  EXPECT_EQ(NotesOf("cus_a"), (std::vector<std::string>{"e1"}));
  EXPECT_EQ(reactor_->Stats().replayed, 1u);
}

}  // namespace
}  // namespace threadline::command
