// The event store on a full disk (label `disk`): a small filesystem of the
// test's own (testing::SmallDisk, mounted as root), real RocksDB. Appends
// fail with UNAVAILABLE while it is full, the store recovers by itself once
// space is freed, nothing acknowledged is lost, and it closes and opens
// cleanly whatever state the disk is in.

#include <gmock/gmock.h>

#include "threadline/eventstore/event_store.h"
#include "threadline/testing/small_disk.h"
#include "threadline/testing/testing.h"

namespace threadline::eventstore {
namespace {

using ::testing::HasSubstr;
using ::threadline::testing::SmallDisk;
using ::threadline::testing::WaitFor;

AppendRequest Req(const std::string& stream, const std::string& id) {
  AppendRequest r;
  r.stream = stream;
  v1::EventEnvelope e;
  e.set_event_id(id);
  e.set_customer_id("cus_" + stream);
  e.mutable_contact_logged()->set_note(std::string(200, 'n'));
  r.events.push_back(std::move(e));
  r.idempotency_key = "req-" + id;
  r.request_fingerprint = "fp-" + id;
  r.response = "response-" + id;
  return r;
}

class EventStoreDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(disk_.mounted());
    Open();
  }

  std::string Path() const { return (disk_.path() / "sales").string(); }

  void Open() {
    store_.reset();
    Options o;
    o.path = Path();
    auto s = EventStore::Open(o);
    ASSERT_OK(s);
    store_ = std::move(*s);
  }

  // Appends one event to its own stream; remembers it when acknowledged.
  absl::Status Append(const std::string& id) {
    auto r = store_->Append(Req("s-" + id, id));
    if (r.ok()) acked_.push_back(id);
    return r.status();
  }

  // Fills the disk, then appends until one fails: the last page of the log
  // may still take a few. Returns the failure.
  absl::Status FillUntilAnAppendFails(const std::string& prefix) {
    disk_.Fill();
    for (int i = 0; i < 2000; ++i) {
      absl::Status s = Append(prefix + std::to_string(i));
      if (!s.ok()) {
        failed_ = prefix + std::to_string(i);
        // What the store's failed writes freed, if anything, is taken too.
        disk_.Fill();
        return s;
      }
    }
    return absl::OkStatus();
  }

  // Frees the disk and retries the append that failed until the store takes
  // it again, for at most 30 s.
  void FreeAndRetry() {
    disk_.Free();
    const auto freed = std::chrono::steady_clock::now();
    absl::Status last;
    const bool resumed = WaitFor(
        [&] {
          last = Append(failed_);
          return last.ok();
        },
        std::chrono::seconds(30));
    ASSERT_TRUE(resumed) << "still refused 30 s after space was freed: " << last;
    EXPECT_LT(std::chrono::steady_clock::now() - freed, std::chrono::seconds(30));
    EXPECT_TRUE(store_->Health().writable);
  }

  // Every acknowledged event is stored, at gap-free positions.
  void ExpectEveryAcknowledgedEvent() {
    auto all = store_->ReadAll(GlobalPosition(0), 100000);
    ASSERT_OK(all);
    std::set<std::string> stored;
    uint64_t expected = 1;
    for (const auto& e : *all) {
      EXPECT_EQ(e.position.value(), expected++);
      stored.insert(e.envelope.event_id());
    }
    for (const auto& id : acked_) EXPECT_TRUE(stored.count(id)) << id << " was acknowledged";
    EXPECT_EQ(stored.size(), acked_.size());
  }

  SmallDisk disk_{8 << 20};  // first: unmounted after the store has closed
  std::unique_ptr<EventStore> store_;
  std::vector<std::string> acked_;
  std::string failed_;
};

TEST_F(EventStoreDiskFullTest, RefusesAppendsWhileFullAndResumesByItselfOnceSpaceIsFreed) {
  for (int i = 0; i < 20; ++i) ASSERT_OK(Append("before" + std::to_string(i)));

  absl::Status failed = FillUntilAnAppendFails("full");
  ASSERT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
  EXPECT_THAT(std::string(failed.message()),
              HasSubstr("event store at " + Path() + " cannot write: no space left on device"));
  EXPECT_THAT(std::string(failed.message()), HasSubstr("accepts writes again once space is freed"));
  StoreHealth h = store_->Health();
  EXPECT_FALSE(h.writable);
  EXPECT_FALSE(h.needs_restart);
  EXPECT_EQ(h.error, "no space left on device");
  EXPECT_GE(h.write_errors, 1u);

  // Still full: refused again, cursor moves too, and reads go on.
  absl::Status again = Append("refused");
  EXPECT_EQ(again.code(), absl::StatusCode::kUnavailable) << again;
  EXPECT_EQ(store_->SetOutboxCursor("relay", GlobalPosition(3)).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_GT(store_->Health().write_errors, h.write_errors);
  ExpectEveryAcknowledgedEvent();

  FreeAndRetry();
  EXPECT_GE(store_->Health().recoveries, 1u);
  ASSERT_OK(store_->SetOutboxCursor("relay", GlobalPosition(3)));
  ASSERT_OK(Append("after"));
  ExpectEveryAcknowledgedEvent();

  // Closed and opened again: all of it is on disk, and the store is sound.
  Open();
  ExpectEveryAcknowledgedEvent();
  auto report = store_->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok()) << report->problems.front();
}

// Right after an open every memtable is empty. RocksDB 7.8's Resume() then
// kept the write-ahead log that had failed, and the next write aborted the
// process on an assertion; the guard's anchor keeps a memtable non-empty.
TEST_F(EventStoreDiskFullTest, RecoversWhenNothingWasWrittenSinceTheStoreOpened) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Append("before" + std::to_string(i)));
  Open();
  ASSERT_EQ(FillUntilAnAppendFails("first").code(), absl::StatusCode::kUnavailable);
  FreeAndRetry();
  ASSERT_OK(Append("after"));
  ExpectEveryAcknowledgedEvent();
}

// A recovery flushes every memtable; the disk filling up again before any
// write must be recovered from too.
TEST_F(EventStoreDiskFullTest, RecoversFromASecondFullDiskRightAfterTheFirst) {
  ASSERT_OK(Append("before"));
  ASSERT_EQ(FillUntilAnAppendFails("first").code(), absl::StatusCode::kUnavailable);
  // RocksDB deletes files it no longer needs after a recovery, so the first
  // write after it may find room; then the round is tried again, until the
  // first write after a recovery is the one that fails.
  int rounds = 0;
  bool failed_first = false;
  while (!failed_first && rounds++ < 20) {
    disk_.Free();
    ASSERT_TRUE(WaitFor([&] { return store_->Health().writable; }, std::chrono::seconds(30)));
    disk_.Fill();
    absl::Status s = Append(failed_);
    if (s.ok()) {
      ASSERT_EQ(FillUntilAnAppendFails("round" + std::to_string(rounds) + "-").code(),
                absl::StatusCode::kUnavailable);
      continue;
    }
    ASSERT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    failed_first = true;
  }
  ASSERT_TRUE(failed_first) << "no round where the first write after a recovery failed";
  FreeAndRetry();
  EXPECT_GE(store_->Health().recoveries, 2u);
  EXPECT_FALSE(store_->Health().needs_restart);
  ExpectEveryAcknowledgedEvent();
}

// Closing while the disk is still full: no abort, and an open after space
// is back finds every acknowledged event.
TEST_F(EventStoreDiskFullTest, ClosesCleanlyWhileItCannotWrite) {
  for (int i = 0; i < 10; ++i) ASSERT_OK(Append("before" + std::to_string(i)));
  ASSERT_EQ(FillUntilAnAppendFails("full").code(), absl::StatusCode::kUnavailable);
  store_.reset();
  disk_.Free();
  Open();
  ExpectEveryAcknowledgedEvent();
  ASSERT_OK(Append("after"));
}

// Opening on a full disk is one clear error, not an abort; once space is
// back the store opens with everything it held.
TEST_F(EventStoreDiskFullTest, OpeningOnAFullDiskIsUnavailableNamingTheStore) {
  for (int i = 0; i < 10; ++i) ASSERT_OK(Append("before" + std::to_string(i)));
  store_.reset();
  disk_.Fill();
  for (int attempt = 0; attempt < 3; ++attempt) {
    Options o;
    o.path = Path();
    auto s = EventStore::Open(o);
    ASSERT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
    EXPECT_THAT(std::string(s.status().message()),
                HasSubstr("event store at " + Path() + " cannot open: no space left on device"));
  }
  disk_.Free();
  Open();
  ExpectEveryAcknowledgedEvent();
  ASSERT_OK(Append("after"));
}

}  // namespace
}  // namespace threadline::eventstore
