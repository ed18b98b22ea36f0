// A damaged store refuses to open, and `Verify` finds what is wrong with one
// that opens. Real RocksDB files on disk, damaged while the store is closed.

#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "gmock/gmock.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/testing/damage.h"
#include "threadline/testing/testing.h"

namespace threadline::eventstore {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::threadline::testing::FlipBytes;
using ::threadline::testing::StoreFile;
using ::threadline::testing::StoreFiles;
using ::threadline::testing::TempDir;

constexpr int kCommands = 40;
// Bytes from a table's end into its index block.
constexpr uint64_t kTableTail = 200;

class EventStoreIntegrityTest : public ::testing::Test {
 protected:
  std::string Path() const { return (dir_.path() / "store").string(); }

  absl::StatusOr<std::unique_ptr<EventStore>> Open() {
    Options o;
    o.path = Path();
    // Each write still reaches the log file before the store is closed and
    // damaged; only the fsync, and the test's time, is saved.
    o.sync = false;
    return EventStore::Open(o);
  }

  // 40 acknowledged commands, each with an idempotency key and a claim.
  void WriteCommands() {
    auto store = Open();
    ASSERT_OK(store);
    for (int i = 0; i < kCommands; ++i) {
      AppendRequest r;
      r.stream = "customer-" + std::to_string(i);
      r.expected_version = StreamVersion(0);
      v1::EventEnvelope e;
      e.set_event_id("e" + std::to_string(i));
      e.set_customer_id("cus_" + std::to_string(i));
      e.mutable_contact_logged()->set_note(std::string(200, 'n'));
      r.events.push_back(e);
      r.idempotency_key = "req-" + std::to_string(i);
      r.request_fingerprint = "fp";
      r.claims.push_back({"phone", "+3161234" + std::to_string(i), e.customer_id()});
      ASSERT_OK((*store)->Append(std::move(r)));
    }
  }

  // The store holds every command, or says why not.
  void ExpectEveryCommand() {
    auto store = Open();
    ASSERT_OK(store);
    EXPECT_EQ((*store)->LastPosition(), GlobalPosition(kCommands));
    for (int i = 0; i < kCommands; ++i) {
      auto idem = (*store)->FindIdempotent("req-" + std::to_string(i));
      ASSERT_OK(idem);
      EXPECT_TRUE(idem->has_value()) << "req-" << i;
    }
  }

  void ExpectRefused(const std::string& file_hint) {
    auto store = Open();
    ASSERT_FALSE(store.ok()) << "a damaged store opened";
    EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("event store at " + Path()));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(file_hint));
  }

  TempDir dir_;
};

TEST_F(EventStoreIntegrityTest, AStoreWrittenByThisBuildReopensWithEveryCommand) {
  WriteCommands();
  ExpectEveryCommand();
  ExpectEveryCommand();  // after the recovery's flush, from tables
}

// The options RocksDB recorded for the store (its OPTIONS file): every
// column family reads its table files back after writing them, and
// background errors stop writes.
TEST_F(EventStoreIntegrityTest, EveryColumnFamilyRunsParanoidChecks) {
  WriteCommands();
  std::string options;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() / "store")) {
    if (entry.path().filename().string().starts_with("OPTIONS-")) {
      std::ifstream in(entry.path());
      options.assign(std::istreambuf_iterator<char>(in), {});
    }
  }
  ASSERT_FALSE(options.empty()) << "no OPTIONS file";
  size_t families = 0, checked = 0;
  for (size_t at = options.find("[CFOptions "); at != std::string::npos;
       at = options.find("[CFOptions ", at + 1)) {
    ++families;
    size_t end = options.find("[TableOptions", at);
    if (options.substr(at, end - at).find("paranoid_file_checks=true") != std::string::npos) {
      ++checked;
    }
  }
  EXPECT_GE(families, 5u);
  EXPECT_EQ(checked, families);
  EXPECT_THAT(options, HasSubstr("paranoid_checks=true"));
}

TEST_F(EventStoreIntegrityTest, ADamagedWriteAheadLogIsRefusedNotCutShort) {
  WriteCommands();
  auto logs = StoreFiles(Path(), StoreFile::kWriteAheadLog);
  ASSERT_FALSE(logs.empty());
  // The middle of the log: point-in-time recovery would keep the first
  // half of the commands and drop the rest without a word.
  FlipBytes(logs[0], fs::file_size(logs[0]) / 2);
  ExpectRefused(logs[0].filename().string());
  ExpectRefused("write-ahead log");  // and it stays refused
}

TEST_F(EventStoreIntegrityTest, ADamagedManifestIsRefusedWhereverItIsHit) {
  // Wherever the flip lands, the store is refused, or (a flip RocksDB can
  // tell is harmless) opens with every command.
  for (int tenth = 1; tenth < 10; ++tenth) {
    SCOPED_TRACE("flip at " + std::to_string(tenth) + "/10 of the MANIFEST");
    fs::remove_all(Path());
    WriteCommands();
    auto manifests = StoreFiles(Path(), StoreFile::kManifest);
    ASSERT_EQ(manifests.size(), 1u);
    FlipBytes(manifests[0], fs::file_size(manifests[0]) * tenth / 10);
    ExpectRefused("MANIFEST-");
  }
}

TEST_F(EventStoreIntegrityTest, ADamagedTableIsRefused) {
  WriteCommands();
  { ASSERT_OK(Open()); }  // recovery flushes the log into tables
  auto tables = StoreFiles(Path(), StoreFile::kTable);
  ASSERT_FALSE(tables.empty());
  // Near the end: the index block, which every open reads (the footer's
  // own damage is reported against the MANIFEST that lists the table).
  FlipBytes(tables[0], fs::file_size(tables[0]) - kTableTail);
  ExpectRefused(tables[0].filename().string());
}

TEST_F(EventStoreIntegrityTest, AMissingColumnFamilyIsRefusedNotRecreatedEmpty) {
  WriteCommands();
  {
    rocksdb::DBOptions o;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, Path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (const auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, Path(), d, &handles, &raw).ok());
    for (auto* h : handles) {
      if (h->GetName() == "idempotency") {
        ASSERT_TRUE(raw->DropColumnFamily(h).ok());
      }
      ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    }
    ASSERT_TRUE(raw->Close().ok());
    delete raw;
  }
  ExpectRefused("column family 'idempotency' is missing");
  // Still refused: the first attempt created nothing.
  ExpectRefused("column family 'idempotency' is missing");
}

// --- Verify ---------------------------------------------------------------

// Opens the store's database directly, to damage it the way no code path
// of the store would.
class RawStore {
 public:
  explicit RawStore(const std::string& path) {
    rocksdb::DBOptions o;
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(o, path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (const auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(o, path, d, &handles_, &raw).ok());
    db_.reset(raw);
  }
  ~RawStore() {
    for (auto* h : handles_) EXPECT_TRUE(db_->DestroyColumnFamilyHandle(h).ok());
    EXPECT_TRUE(db_->Close().ok());
  }
  void Delete(const std::string& family, const std::string& key) {
    for (auto* h : handles_) {
      if (h->GetName() == family) {
        EXPECT_TRUE(db_->Delete(rocksdb::WriteOptions(), h, key).ok());
        return;
      }
    }
    ADD_FAILURE() << "no family " << family;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

std::string Position(uint64_t p) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, p >>= 8) k[static_cast<size_t>(i)] = static_cast<char>(p & 0xff);
  return k;
}

TEST_F(EventStoreIntegrityTest, VerifyPassesASoundStore) {
  WriteCommands();
  {
    auto store = Open();
    ASSERT_OK(store);
    AppendRequest more;
    more.stream = "customer-0";
    more.expected_version = StreamVersion(1);
    v1::EventEnvelope e;
    e.set_event_id("again");
    e.mutable_contact_logged()->set_note("second");
    more.events.push_back(e);
    ASSERT_OK((*store)->Append(std::move(more)));
  }
  auto store = Open();
  ASSERT_OK(store);
  auto report = (*store)->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->problems);
  EXPECT_EQ(report->events, kCommands + 1u);
  EXPECT_EQ(report->streams, static_cast<uint64_t>(kCommands));
  EXPECT_EQ(report->last_position, kCommands + 1u);
}

TEST_F(EventStoreIntegrityTest, VerifyFindsAStreamIndexEntryThatIsGone) {
  WriteCommands();
  std::string key = "customer-7";
  key.push_back('\0');
  key += Position(1);  // version 1
  RawStore(Path()).Delete("streams", key);
  auto store = Open();
  ASSERT_OK(store);
  auto report = (*store)->Verify();
  ASSERT_OK(report);
  ASSERT_FALSE(report->ok());
  EXPECT_THAT(report->problems,
              ::testing::Contains(HasSubstr("the event at position 8 is in no stream")));
}

TEST_F(EventStoreIntegrityTest, VerifyFindsAGapInTheGlobalSequence) {
  WriteCommands();
  RawStore(Path()).Delete("log", Position(12));
  auto store = Open();
  ASSERT_OK(store);
  auto report = (*store)->Verify();
  ASSERT_OK(report);
  ASSERT_FALSE(report->ok());
  EXPECT_THAT(report->problems, ::testing::Contains(HasSubstr("positions 12..12 are missing")));
  EXPECT_THAT(report->problems, ::testing::Contains(HasSubstr("position 12, which is not in")));
}

}  // namespace
}  // namespace threadline::eventstore
