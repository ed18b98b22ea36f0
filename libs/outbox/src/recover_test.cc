// Rebuilding a store from its own topic: events, answers, claims and
// offsets come back; copies re-published after a failed delivery count
// once; a target that holds anything, or a topic that is not one store's,
// is refused.

#include "threadline/outbox/recover.h"

#include <gmock/gmock.h>

#include <filesystem>

#include "threadline/bus/embedded.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/outbox/relay.h"
#include "threadline/testing/testing.h"

namespace threadline::outbox {
namespace {

using ::testing::HasSubstr;
using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

constexpr char kTopic[] = "threadline.sales.v1";
constexpr int kPartitions = 4;

v1::EventEnvelope Event(const std::string& customer, const std::string& id) {
  v1::EventEnvelope e;
  e.set_event_id(id);
  e.set_customer_id(customer);
  e.set_aggregate_type("customer");
  e.set_aggregate_id(customer);
  e.mutable_contact_logged()->set_note("note " + id);
  return e;
}

class RecoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Open("store");
    bus::EmbeddedBusOptions bo;
    bo.path = (dir_.path() / "bus").string();
    bus_ = std::move(*bus::OpenEmbeddedBus(bo));
    ASSERT_OK(bus_->EnsureTopics({{kTopic, kPartitions}}));
  }

  std::unique_ptr<eventstore::EventStore> Open(const std::string& name) {
    eventstore::Options so;
    so.path = (dir_.path() / name).string();
    auto s = eventstore::EventStore::Open(so);
    EXPECT_OK(s);
    return s.ok() ? std::move(*s) : nullptr;
  }

  // 40 customers, each registered with a claim and an idempotent answer,
  // then two events in one append, a reaction with offsets, and for every
  // fifth a claim released; a state write with no events in between.
  void WriteHistory() {
    for (int i = 0; i < 40; ++i) {
      const std::string c = "cus_" + std::to_string(i);
      eventstore::AppendRequest r;
      r.stream = "customer-" + c;
      r.expected_version = StreamVersion(0);
      r.events.push_back(Event(c, "reg-" + std::to_string(i)));
      r.idempotency_key = "req-reg-" + std::to_string(i);
      r.request_fingerprint = "fp-" + std::to_string(i);
      r.response = "answer-" + std::to_string(i);
      r.claims.push_back({"phone", "blinded-" + std::to_string(i), c});
      ASSERT_OK(store_->Append(std::move(r)));
    }
    ASSERT_OK(
        store_->Write(eventstore::StateWrite{{{"directory", "x", "cus_1"}}, {}, {}, "", "", ""}));
    for (int i = 0; i < 40; ++i) {
      const std::string c = "cus_" + std::to_string(i);
      eventstore::AppendRequest r;
      r.stream = "customer-" + c;
      r.events.push_back(Event(c, "a-" + std::to_string(i)));
      r.events.push_back(Event(c, "b-" + std::to_string(i)));
      r.idempotency_key = "req-two-" + std::to_string(i);
      r.request_fingerprint = "fp2-" + std::to_string(i);
      r.response = "two-" + std::to_string(i);
      if (i % 5 == 0) r.releases.push_back({"phone", "blinded-" + std::to_string(i), c});
      ASSERT_OK(store_->Append(std::move(r)));

      eventstore::AppendRequest reaction;
      reaction.stream = "customer-" + c;
      reaction.events.push_back(Event(c, "r-" + std::to_string(i)));
      reaction.idempotency_key = "reaction-" + std::to_string(i);
      reaction.offsets.push_back({"sales.reactions", "threadline.billing.v1", i % 3, i + 1});
      ASSERT_OK(store_->Append(std::move(reaction)));
    }
  }

  // Publishes the store to its topic, as the service's relay does.
  void Relay() {
    auto publisher = std::move(*bus_->NewPublisher());
    RelayOptions o;
    o.topic = kTopic;
    OutboxRelay relay(store_.get(), publisher.get(), o);
    ASSERT_OK(relay.Start());
    const uint64_t last = store_->LastPosition().value();
    ASSERT_TRUE(WaitFor([&] { return relay.Stats().cursor == last; }));
    relay.Stop();
  }

  // Puts `events` on the topic as they are, beside what the relay sent.
  void PublishExtra(const std::vector<v1::EventEnvelope>& events) {
    auto publisher = std::move(*bus_->NewPublisher());
    for (const auto& e : events) ASSERT_OK(publisher->Publish(ToMessage(e, kTopic), nullptr));
    ASSERT_OK(publisher->Flush(std::chrono::seconds(5)));
  }

  absl::StatusOr<RecoverReport> Recover(const std::string& name) {
    RecoverOptions o;
    o.topic = kTopic;
    o.path = (dir_.path() / name).string();
    return RecoverStore(*bus_, o);
  }

  TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<bus::Bus> bus_;
};

TEST_F(RecoverTest, EveryEventAnswerClaimAndOffsetComesBackFromTheTopic) {
  WriteHistory();
  Relay();
  // What a relay that lost its delivery reports sends again.
  auto again = store_->ReadAll(GlobalPosition(4), 10);
  ASSERT_OK(again);
  std::vector<v1::EventEnvelope> copies;
  for (const auto& e : *again) copies.push_back(e.envelope);
  PublishExtra(copies);
  auto report = Recover("recovered");
  ASSERT_OK(report);
  EXPECT_EQ(report->events, 160u);
  EXPECT_EQ(report->appends, 120u);
  EXPECT_EQ(report->records, 120u);
  EXPECT_EQ(report->duplicates, 10u);
  EXPECT_EQ(report->messages, 160u + report->duplicates);
  EXPECT_EQ(report->unreadable, 0u);
  EXPECT_EQ(report->missing_positions, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "recovered.recover-scratch"));

  auto b = Open("recovered");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->LastPosition().value(), store_->LastPosition().value());
  // Nothing to publish again: every restored event is on the topic.
  EXPECT_EQ(b->OutboxCursor("bus")->value(), b->LastPosition().value());
  for (int i = 0; i < 40; ++i) {
    const std::string c = "cus_" + std::to_string(i);
    auto want = store_->ReadStream("customer-" + c);
    auto got = b->ReadStream("customer-" + c);
    ASSERT_OK(want);
    ASSERT_OK(got);
    ASSERT_EQ(got->size(), want->size());
    for (size_t k = 0; k < got->size(); ++k) {
      EXPECT_EQ((*got)[k].SerializeAsString(), (*want)[k].SerializeAsString()) << c << " #" << k;
    }
    for (const std::string& key : {"req-reg-" + std::to_string(i), "req-two-" + std::to_string(i),
                                   "reaction-" + std::to_string(i)}) {
      auto w = store_->FindIdempotent(key);
      auto g = b->FindIdempotent(key);
      ASSERT_OK(g);
      ASSERT_TRUE(g->has_value()) << key;
      EXPECT_EQ((*g)->request_fingerprint, (*w)->request_fingerprint);
      EXPECT_EQ((*g)->result.response, (*w)->result.response);
      EXPECT_EQ((*g)->result.version.value(), (*w)->result.version.value());
      EXPECT_EQ((*g)->result.event_ids, (*w)->result.event_ids);
    }
    auto claim = b->FindClaim("phone", "blinded-" + std::to_string(i));
    ASSERT_OK(claim);
    if (i % 5 == 0) {
      EXPECT_FALSE(claim->has_value()) << "released claim " << i;
    } else {
      EXPECT_EQ(claim->value_or(""), c);
    }
  }
  auto offsets = b->LoadOffsets("sales.reactions");
  ASSERT_OK(offsets);
  auto want_offsets = store_->LoadOffsets("sales.reactions");
  ASSERT_EQ(offsets->size(), want_offsets->size());
  for (size_t i = 0; i < offsets->size(); ++i) {
    EXPECT_EQ((*offsets)[i].partition, (*want_offsets)[i].partition);
    EXPECT_EQ((*offsets)[i].next_offset, (*want_offsets)[i].next_offset);
  }
  // State written without events is not on the topic (documented).
  EXPECT_FALSE(b->FindClaim("directory", "x")->has_value());
  auto verified = b->Verify();
  ASSERT_OK(verified);
  EXPECT_TRUE(verified->ok());
}

TEST_F(RecoverTest, ARetryAfterRecoveryGetsTheFirstAnswerAndAppendsNothing) {
  WriteHistory();
  Relay();
  ASSERT_OK(Recover("recovered"));
  auto b = Open("recovered");
  ASSERT_NE(b, nullptr);
  const uint64_t before = b->LastPosition().value();
  eventstore::AppendRequest retry;
  retry.stream = "customer-cus_7";
  retry.expected_version = StreamVersion(0);
  retry.events.push_back(Event("cus_7", "reg-7-again"));
  retry.idempotency_key = "req-reg-7";
  retry.request_fingerprint = "fp-7";
  auto r = b->Append(std::move(retry));
  ASSERT_OK(r);
  EXPECT_TRUE(r->replayed);
  EXPECT_EQ(r->response, "answer-7");
  EXPECT_EQ(b->LastPosition().value(), before);
  // A claim held before the loss is still held.
  eventstore::AppendRequest other;
  other.stream = "customer-cus_new";
  other.events.push_back(Event("cus_new", "new"));
  other.claims.push_back({"phone", "blinded-7", "cus_new"});
  EXPECT_EQ(b->Append(std::move(other)).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RecoverTest, UnreadableMessagesAreCountedAndATargetWithAStoreIsRefused) {
  WriteHistory();
  Relay();
  auto publisher = std::move(*bus_->NewPublisher());
  bus::OutMessage junk;
  junk.topic = kTopic;
  junk.key = "cus_1";
  junk.value = "not an envelope";
  ASSERT_OK(publisher->Publish(std::move(junk), nullptr));
  ASSERT_OK(publisher->Flush(std::chrono::seconds(5)));
  auto report = Recover("recovered");
  ASSERT_OK(report);
  EXPECT_EQ(report->unreadable, 1u);
  EXPECT_EQ(report->events, 160u);

  auto again = Recover("recovered");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("is not empty"));
}

TEST_F(RecoverTest, ATopicWithTwoStoresEventsIsRefused) {
  WriteHistory();
  Relay();
  // Another store's first event: the same position, another event.
  v1::EventEnvelope e = Event("cus_x", "other-store");
  e.set_version(1);
  e.set_global_position(1);
  PublishExtra({e});
  auto report = Recover("recovered");
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(report.status().message()),
              HasSubstr("holds two events at global position 1 ("));
}

TEST_F(RecoverTest, EventsThatDoNotContinueTheirStreamAreRefused) {
  // A topic that is not a store's: version 2 with no version 1.
  v1::EventEnvelope e = Event("cus_1", "orphan");
  e.set_version(2);
  e.set_global_position(1);
  PublishExtra({e});
  auto report = Recover("recovered");
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(report.status().message()),
              HasSubstr("event orphan has version 2 where the stream expects 1"));
}

}  // namespace
}  // namespace threadline::outbox
