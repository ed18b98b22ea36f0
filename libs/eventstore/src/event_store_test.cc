#include "threadline/eventstore/event_store.h"

#include <atomic>
#include <thread>

#include "threadline/testing/testing.h"

namespace threadline::eventstore {
namespace {

using ::threadline::testing::TempDir;

v1::EventEnvelope Event(const std::string& id, const std::string& customer = "cus_1") {
  v1::EventEnvelope e;
  e.set_event_id(id);
  e.set_customer_id(customer);
  e.mutable_contact_logged()->set_note(id);
  return e;
}

AppendRequest Req(const std::string& stream, std::optional<uint64_t> expected,
                  std::vector<std::string> ids, std::string idem = "") {
  AppendRequest r;
  r.stream = stream;
  if (expected) r.expected_version = StreamVersion(*expected);
  for (auto& id : ids) r.events.push_back(Event(id));
  r.idempotency_key = std::move(idem);
  r.request_fingerprint = "fp";
  r.response = "response-of-" + r.idempotency_key;
  return r;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void Open() {
    store_.reset();
    Options o;
    o.path = (dir_.path() / "store").string();
    auto s = EventStore::Open(o);
    ASSERT_OK(s);
    store_ = std::move(*s);
  }
  void SetUp() override { Open(); }

  TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(EventStoreTest, AppendsAndReadsAStreamInOrder) {
  ASSERT_OK(store_->Append(Req("s1", 0, {"a", "b"})));
  auto r = store_->Append(Req("s1", 2, {"c"}));
  ASSERT_OK(r);
  EXPECT_EQ(r->version, StreamVersion(3));
  auto events = store_->ReadStream("s1");
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].event_id(), "a");
  EXPECT_EQ((*events)[2].event_id(), "c");
  EXPECT_EQ((*events)[2].version(), 3u);
  EXPECT_TRUE((*events)[0].has_recorded_at());
  auto tail = store_->ReadStream("s1", StreamVersion(1));
  ASSERT_OK(tail);
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].event_id(), "b");
}

TEST_F(EventStoreTest, StaleExpectedVersionIsAbortedAndAppendsNothing) {
  ASSERT_OK(store_->Append(Req("s1", 0, {"a"})));
  auto before = store_->Checksum();
  ASSERT_OK(before);
  auto r = store_->Append(Req("s1", 0, {"b"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(r.status().message().find("version 1"), std::string::npos) << r.status();
  auto after = store_->Checksum();
  ASSERT_OK(after);
  EXPECT_EQ(*before, *after);
}

TEST_F(EventStoreTest, NamesThatShareAPrefixAreSeparateStreams) {
  ASSERT_OK(store_->Append(Req("ab", 0, {"x1", "x2"})));
  ASSERT_OK(store_->Append(Req("a", 0, {"y1"})));
  EXPECT_EQ(*store_->StreamHead("a"), StreamVersion(1));
  EXPECT_EQ(*store_->StreamHead("ab"), StreamVersion(2));
  EXPECT_EQ(*store_->StreamHead("b"), StreamVersion(0));
}

TEST_F(EventStoreTest, RetriedRequestReturnsFirstAnswerAndAppendsNothing) {
  auto first = store_->Append(Req("s1", std::nullopt, {"a"}, "req-1"));
  ASSERT_OK(first);
  EXPECT_FALSE(first->replayed);
  auto before = *store_->Checksum();
  auto retry = store_->Append(Req("s1", std::nullopt, {"a-again"}, "req-1"));
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(retry->version, first->version);
  EXPECT_EQ(retry->event_ids, first->event_ids);
  EXPECT_EQ(retry->response, "response-of-req-1");
  EXPECT_EQ(*store_->Checksum(), before);
  EXPECT_EQ(store_->LastPosition(), GlobalPosition(1));
}

TEST_F(EventStoreTest, ReusedRequestIdWithDifferentRequestIsRejected) {
  ASSERT_OK(store_->Append(Req("s1", std::nullopt, {"a"}, "req-1")));
  auto other = Req("s1", std::nullopt, {"b"}, "req-1");
  other.request_fingerprint = "another";
  EXPECT_EQ(store_->Append(other).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EventStoreTest, ReadAfterRestartKeepsEverything) {
  ASSERT_OK(store_->Append(Req("s1", 0, {"a", "b"}, "req-1")));
  ASSERT_OK(store_->SetOutboxCursor("bus", GlobalPosition(1)));
  Open();
  EXPECT_EQ(store_->LastPosition(), GlobalPosition(2));
  EXPECT_EQ(store_->StreamHead("s1")->value(), 2u);
  EXPECT_EQ(store_->OutboxCursor("bus")->value(), 1u);
  auto rec = store_->FindIdempotent("req-1");
  ASSERT_OK(rec);
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->result.version, StreamVersion(2));
  // Positions continue gap-free after a restart.
  ASSERT_OK(store_->Append(Req("s2", 0, {"c"})));
  auto all = store_->ReadAll(GlobalPosition(0), 10);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].position.value(), i + 1);
    EXPECT_EQ((*all)[i].envelope.global_position(), i + 1);
  }
}

TEST_F(EventStoreTest, ClaimsAreUniqueAcrossOwners) {
  auto a = Req("customer-1", 0, {"a"});
  a.claims.push_back({"phone", "+31612345678", "cus_1"});
  ASSERT_OK(store_->Append(a));
  auto b = Req("customer-2", 0, {"b"});
  b.claims.push_back({"phone", "+31612345678", "cus_2"});
  auto r = store_->Append(b);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(r.status().message().find("cus_1"), std::string::npos);
  EXPECT_EQ(store_->StreamHead("customer-2")->value(), 0u);
  // The same owner may claim again.
  auto again = Req("customer-1", 1, {"c"});
  again.claims.push_back({"phone", "+31612345678", "cus_1"});
  EXPECT_OK(store_->Append(again));
  auto scan = store_->ScanClaims("phone", "+316", 10);
  ASSERT_OK(scan);
  ASSERT_EQ(scan->size(), 1u);
  EXPECT_EQ((*scan)[0].second, "cus_1");
}

TEST_F(EventStoreTest, ReleasedClaimsDisappearFromScansAndCanBeTakenAgain) {
  auto a = Req("ticket-1", 0, {"a"});
  a.claims.push_back({"open_ticket", "cus_1/tkt_1", "tkt_1"});
  a.claims.push_back({"open_ticket", "cus_1/tkt_2", "tkt_2"});
  ASSERT_OK(store_->Append(a));
  auto wrong_owner = Req("ticket-1", 1, {"b"});
  wrong_owner.releases.push_back({"open_ticket", "cus_1/tkt_1", "tkt_9"});
  ASSERT_OK(store_->Append(wrong_owner));
  EXPECT_EQ(store_->ScanClaims("open_ticket", "cus_1/", 10)->size(), 2u);
  auto release = Req("ticket-1", 2, {"c"});
  release.releases.push_back({"open_ticket", "cus_1/tkt_1", "tkt_1"});
  ASSERT_OK(store_->Append(release));
  auto left = store_->ScanClaims("open_ticket", "cus_1/", 10);
  ASSERT_OK(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].second, "tkt_2");
  auto retake = Req("ticket-2", 0, {"d"});
  retake.claims.push_back({"open_ticket", "cus_1/tkt_1", "someone"});
  EXPECT_OK(store_->Append(retake));
}

TEST_F(EventStoreTest, ConsumerOffsetsCommitWithTheEvents) {
  auto r = Req("s1", 0, {"a"});
  r.offsets.push_back({"billing", "threadline.sales.v1", 3, 42});
  r.offsets.push_back({"billing", "threadline.sales.v1", 0, 7});
  ASSERT_OK(store_->Append(r));
  Open();
  auto offsets = store_->LoadOffsets("billing");
  ASSERT_OK(offsets);
  ASSERT_EQ(offsets->size(), 2u);
  EXPECT_EQ((*offsets)[0].partition, 0);
  EXPECT_EQ((*offsets)[0].next_offset, 7);
  EXPECT_EQ((*offsets)[1].partition, 3);
  EXPECT_EQ((*offsets)[1].next_offset, 42);
  EXPECT_TRUE(store_->LoadOffsets("installation")->empty());
}

TEST_F(EventStoreTest, StateWritesKeepIndexesAndOffsetsWithoutAnyEvent) {
  ASSERT_OK(store_->Append(Req("s1", 0, {"a"})));
  StateWrite w;
  w.claims.push_back({"parked", "ord_1", "cus_1"});
  w.offsets.push_back({"billing", "threadline.sales.v1", 0, 9});
  w.idempotency_key = "parked/ord_1";
  w.request_fingerprint = "fp";
  w.response = "first";
  auto first = store_->Write(w);
  ASSERT_OK(first);
  EXPECT_FALSE(first->replayed);
  EXPECT_TRUE(first->event_ids.empty());

  // Nothing entered the log or any stream.
  EXPECT_EQ(store_->LastPosition(), GlobalPosition(1));
  EXPECT_EQ(store_->StreamHead("")->value(), 0u);
  EXPECT_EQ(store_->FindClaim("parked", "ord_1")->value_or(""), "cus_1");
  EXPECT_EQ((*store_->LoadOffsets("billing"))[0].next_offset, 9);

  // The same key answers with the first result and writes nothing new.
  StateWrite again = w;
  again.claims = {{"parked", "ord_2", "cus_1"}};
  again.response = "second";
  auto replay = store_->Write(again);
  ASSERT_OK(replay);
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->response, "first");
  EXPECT_FALSE(store_->FindClaim("parked", "ord_2")->has_value());

  // A claim held by another owner refuses the whole write.
  StateWrite other;
  other.claims = {{"parked", "ord_1", "cus_2"}};
  other.offsets = {{"billing", "threadline.sales.v1", 0, 10}};
  EXPECT_EQ(store_->Write(other).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*store_->LoadOffsets("billing"))[0].next_offset, 9);

  // Releases drop only what the owner holds.
  StateWrite release;
  release.releases = {{"parked", "ord_1", "cus_2"}};
  ASSERT_OK(store_->Write(release));
  EXPECT_TRUE(store_->FindClaim("parked", "ord_1")->has_value());
  release.releases = {{"parked", "ord_1", "cus_1"}};
  ASSERT_OK(store_->Write(release));
  EXPECT_FALSE(store_->FindClaim("parked", "ord_1")->has_value());
}

TEST_F(EventStoreTest, AnAppendNeedsAStream) {
  EXPECT_EQ(store_->Append(Req("", std::nullopt, {"a"})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->LastPosition(), GlobalPosition(0));
}

TEST_F(EventStoreTest, ConcurrentAppendsWithSameExpectedVersionExactlyOneWins) {
  ASSERT_OK(store_->Append(Req("s1", 0, {"a"})));
  constexpr int kThreads = 8;
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = store_->Append(Req("s1", 1, {"t" + std::to_string(i)}));
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kAborted) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kThreads - 1);
  EXPECT_EQ(store_->StreamHead("s1")->value(), 2u);
}

TEST_F(EventStoreTest, GlobalSequenceIsGapFreeUnderConcurrency) {
  constexpr int kThreads = 4, kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store_->Append(Req("s" + std::to_string(t), std::nullopt,
                                    {std::to_string(t) + "-" + std::to_string(i)}));
        ASSERT_OK(r);
      }
    });
  }
  for (auto& t : threads) t.join();
  auto all = store_->ReadAll(GlobalPosition(0), kThreads * kPerThread + 10);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].position.value(), i + 1);
  for (int t = 0; t < kThreads; ++t) {
    auto s = store_->ReadStream("s" + std::to_string(t));
    ASSERT_OK(s);
    ASSERT_EQ(s->size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_EQ((*s)[i].event_id(), std::to_string(t) + "-" + std::to_string(i));
    }
  }
}

TEST_F(EventStoreTest, ListenersHearEveryAppend) {
  std::atomic<uint64_t> last{0};
  store_->OnAppend([&](GlobalPosition p) { last = p.value(); });
  ASSERT_OK(store_->Append(Req("s1", 0, {"a", "b"})));
  EXPECT_EQ(last.load(), 2u);
}

TEST(EventStoreOpen, SecondOpenOfTheSameDirectoryFailsClearly) {
  TempDir dir;
  Options o;
  o.path = (dir.path() / "store").string();
  auto first = EventStore::Open(o);
  ASSERT_OK(first);
  auto second = EventStore::Open(o);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
}

}  // namespace
}  // namespace threadline::eventstore
