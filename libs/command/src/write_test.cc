// The one write path on a real event store, with a store in between that
// lets a test act where another process could: between a write's load and
// its append.

#include "threadline/command/write.h"

#include <gmock/gmock.h>

#include <functional>

#include "test_store.h"
#include "threadline/domain/validate.h"
#include "threadline/testing/testing.h"

namespace threadline::command {
namespace {

using ::threadline::command::testing::InterposedStore;
using ::threadline::command::testing::Note;
using ::threadline::command::testing::Notes;

class WriteTest : public command::testing::StoreTest {
 protected:
  WriteTest() : StoreTest(v1::DEPARTMENT_SALES) {}
  Write NoteWrite(const std::string& key) {
    Write w;
    w.target = Target{"notes", "n1", "cus_1"};
    w.stamp.actor.set_principal("tester");
    w.stamp.correlation_id = "corr";
    w.stamp.causation_id = key;
    w.idempotency_key = key;
    w.fingerprint = "fp-" + key;
    return w;
  }

  // Another process on the same store: appends a note of its own.
  absl::Status AppendElsewhere(const std::string& text) {
    auto head = real_->StreamHead("notes-n1");
    RETURN_IF_ERROR(head.status());
    eventstore::AppendRequest r;
    r.stream = "notes-n1";
    r.expected_version = *head;
    v1::EventEnvelope e = Note(text);
    e.set_event_id("elsewhere-" + text);
    e.set_customer_id("cus_1");
    r.events.push_back(e);
    return real_->Append(std::move(r)).status();
  }
};

TEST_F(WriteTest, StampsEveryEventAndAppendsClaimsWithThem) {
  auto out = WriteAggregate<Notes>(env_, NoteWrite("k1"), [](const Notes& s, const auto&) {
    Decision d({Note("a"), Note("b")});
    d.claims.push_back({"note", "a", "n1"});
    return absl::StatusOr<Decision>(d);
  });
  ASSERT_OK(out);
  EXPECT_EQ(out->version, 2u);
  auto events = real_->ReadStream("notes-n1");
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  for (const auto& e : *events) {
    EXPECT_FALSE(e.event_id().empty());
    EXPECT_EQ(e.customer_id(), "cus_1");
    EXPECT_EQ(e.aggregate_type(), "notes");
    EXPECT_EQ(e.department(), v1::DEPARTMENT_SALES);
    EXPECT_EQ(e.actor().principal(), "tester");
    EXPECT_EQ(e.correlation_id(), "corr");
    EXPECT_EQ(e.causation_id(), "k1");
  }
  EXPECT_EQ(real_->FindClaim("note", "a")->value_or(""), "n1");
}

TEST_F(WriteTest, TheCustomerOfAnExistingAggregateComesFromItsState) {
  ASSERT_OK(WriteAggregate<Notes>(env_, NoteWrite("k1"), [](const Notes&, const auto&) {
    return absl::StatusOr<Decision>(Decision({Note("a")}));
  }));
  Write later = NoteWrite("k2");
  later.target.customer_id = "";  // a command that names only the aggregate
  ASSERT_OK(WriteAggregate<Notes>(env_, later, [](const Notes&, const auto&) {
    return absl::StatusOr<Decision>(Decision({Note("b")}));
  }));
  auto events = real_->ReadStream("notes-n1");
  ASSERT_OK(events);
  EXPECT_EQ((*events)[1].customer_id(), "cus_1");
}

TEST_F(WriteTest, ARaceLostToAnotherProcessIsDecidedAgainOnTheNewState) {
  int decisions = 0;
  bool raced = false;
  store_->before_append = [&]() -> absl::Status {
    if (raced) return absl::OkStatus();
    raced = true;
    return AppendElsewhere("x");
  };
  std::vector<size_t> seen;
  auto out = WriteAggregate<Notes>(env_, NoteWrite("k1"), [&](const Notes& s, const auto&) {
    ++decisions;
    seen.push_back(s.count);
    return absl::StatusOr<Decision>(Decision({Note("mine")}));
  });
  ASSERT_OK(out);
  EXPECT_EQ(decisions, 2);
  EXPECT_EQ(seen, (std::vector<size_t>{0, 1}));  // decided again, on the other's note
  EXPECT_EQ(out->version, 2u);
  auto events = real_->ReadStream("notes-n1");
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].event_id(), "elsewhere-x");
  EXPECT_EQ((*events)[1].contact_logged().note(), "mine");
}

TEST_F(WriteTest, ARaceWithTheClientsExpectedVersionIsAbortedNotRetried) {
  store_->before_append = [&] { return AppendElsewhere("x"); };
  Write w = NoteWrite("k1");
  w.expected_version = 0;
  int decisions = 0;
  auto out = WriteAggregate<Notes>(env_, w, [&](const Notes&, const auto&) {
    ++decisions;
    return absl::StatusOr<Decision>(Decision({Note("mine")}));
  });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kAborted) << out.status();
  EXPECT_EQ(decisions, 1);
  EXPECT_EQ(real_->StreamHead("notes-n1")->value(), 1u);  // only the other's note
}

TEST_F(WriteTest, AStaleExpectedVersionNamesBothVersionsAndDecidesNothing) {
  ASSERT_OK(WriteAggregate<Notes>(env_, NoteWrite("k1"), [](const Notes&, const auto&) {
    return absl::StatusOr<Decision>(Decision({Note("a"), Note("b")}));
  }));
  Write w = NoteWrite("k2");
  w.expected_version = 1;
  bool decided = false;
  auto out = WriteAggregate<Notes>(env_, w, [&](const Notes&, const auto&) {
    decided = true;
    return absl::StatusOr<Decision>(Decision({Note("c")}));
  });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(out.status().message(),
            "notes n1 is at version 2, the request expected 1; reload it and retry");
  EXPECT_FALSE(decided);
}

TEST_F(WriteTest, AStreamThatKeepsChangingElsewhereEndsUnavailableAfterTheBudget) {
  int n = 0;
  store_->before_append = [&] { return AppendElsewhere(std::to_string(n++)); };
  Write w = NoteWrite("k1");
  w.race_budget = std::chrono::milliseconds(50);
  auto out = WriteAggregate<Notes>(env_, w, [](const Notes&, const auto&) {
    return absl::StatusOr<Decision>(Decision({Note("mine")}));
  });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable) << out.status();
  EXPECT_GT(n, 1);
  auto events = real_->ReadStream("notes-n1");
  ASSERT_OK(events);
  for (const auto& e : *events) EXPECT_NE(e.contact_logged().note(), "mine");
}

TEST_F(WriteTest, ATransientStoreErrorIsAnsweredAndARetryAppliesOnce) {
  bool fail = true;
  store_->before_append = [&]() -> absl::Status {
    if (!fail) return absl::OkStatus();
    fail = false;
    return absl::UnavailableError("disk busy");
  };
  auto decide = [](const Notes&, const auto&) {
    return absl::StatusOr<Decision>(Decision({Note("mine")}));
  };
  auto first = WriteAggregate<Notes>(env_, NoteWrite("k1"), decide);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(real_->StreamHead("notes-n1")->value(), 0u);
  auto retried = WriteAggregate<Notes>(env_, NoteWrite("k1"), decide);
  ASSERT_OK(retried);
  EXPECT_FALSE(retried->replayed);
  auto again = WriteAggregate<Notes>(env_, NoteWrite("k1"), decide);
  ASSERT_OK(again);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->version, 1u);
  EXPECT_EQ(real_->StreamHead("notes-n1")->value(), 1u);
}

TEST_F(WriteTest, AKeyReusedForAnotherRequestIsInvalid) {
  auto decide = [](const Notes&, const auto&) {
    return absl::StatusOr<Decision>(Decision({Note("mine")}));
  };
  ASSERT_OK(WriteAggregate<Notes>(env_, NoteWrite("k1"), decide));
  Write other = NoteWrite("k1");
  other.fingerprint = "another request";
  other.request_id = "r-1";
  auto out = WriteAggregate<Notes>(env_, other, decide);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(),
            "request_id 'r-1' was already used for a different request; choose a new request_id");
}

TEST_F(WriteTest, AnEventOverTheSizeLimitIsRefusedAndNothingIsAppended) {
  auto huge = [](const Notes&, const auto&) {
    return absl::StatusOr<Decision>(
        Decision({Note("fits"), Note(std::string(domain::kMaxEventBytes, 'x'))}));
  };
  auto out = WriteAggregate<Notes>(env_, NoteWrite("k1"), huge);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.status().message()),
              ::testing::HasSubstr("bytes; an event is at most 524288 bytes"));
  EXPECT_EQ(store_->appends, 0);
  EXPECT_FALSE(real_->FindIdempotent("k1")->has_value());
  EXPECT_TRUE(real_->ReadStream("notes-n1")->empty());
}

TEST_F(WriteTest, AnEmptyDecisionIsRecordedOnlyWhenAsked) {
  auto nothing = [](const Notes&, const auto&) { return absl::StatusOr<Decision>(Decision()); };
  Write reaction = NoteWrite("k1");
  reaction.record_empty = false;
  ASSERT_OK(WriteAggregate<Notes>(env_, reaction, nothing));
  EXPECT_EQ(store_->appends, 0);
  EXPECT_FALSE(real_->FindIdempotent("k1")->has_value());
  ASSERT_OK(WriteAggregate<Notes>(env_, NoteWrite("k2"), nothing));
  EXPECT_EQ(store_->appends, 1);
  EXPECT_TRUE(real_->FindIdempotent("k2")->has_value());
}

}  // namespace
}  // namespace threadline::command
