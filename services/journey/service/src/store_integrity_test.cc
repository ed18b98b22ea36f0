// A damaged journey store refuses to open; a store of layout 1 still
// converts, and one of layout 2 that lost a family is not "converted" empty.
// Real RocksDB files on disk, damaged while the store is closed.

#include <rocksdb/db.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "store.h"
#include "threadline/testing/damage.h"
#include "threadline/testing/testing.h"

namespace threadline::journey {
namespace {

namespace fs = std::filesystem;
using keys::Family;
using ::testing::HasSubstr;
using ::threadline::testing::FlipBytes;
using ::threadline::testing::StoreFile;
using ::threadline::testing::StoreFiles;
using ::threadline::testing::TempDir;

constexpr int kEntries = 40;

class JourneyStoreIntegrityTest : public ::testing::Test {
 protected:
  std::string Path() const { return (dir_.path() / "journey").string(); }

  void WriteEntries() {
    auto store = JourneyStore::Open(Path());
    ASSERT_OK(store);
    for (int i = 0; i < kEntries; ++i) {
      rocksdb::WriteBatch batch;
      const std::string id = "e" + std::to_string(i);
      (*store)->Put(batch, Family::kSeen, id, "");
      (*store)->Put(batch, Family::kTimeline, "cus_1\0" + id, std::string(200, 't'));
      (*store)->Put(batch, Family::kCards, "cus_" + std::to_string(i), std::string(100, 'c'));
      ASSERT_OK((*store)->Write(batch, "writing a test entry"));
    }
  }

  void ExpectEveryEntry() {
    auto store = JourneyStore::Open(Path());
    ASSERT_OK(store);
    for (int i = 0; i < kEntries; ++i) {
      std::string v;
      auto seen = (*store)->Get(Family::kSeen, "e" + std::to_string(i), &v, "reading");
      ASSERT_OK(seen);
      EXPECT_TRUE(*seen) << "e" << i;
    }
  }

  void ExpectRefused(const std::string& file_hint) {
    auto store = JourneyStore::Open(Path());
    ASSERT_FALSE(store.ok()) << "a damaged journey store opened";
    EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("journey store at " + Path()));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(file_hint));
  }

  // Drops `families` of the closed store, as a damaged MANIFEST loses them.
  void DropFamilies(const std::set<std::string>& families) {
    rocksdb::DBOptions o;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, Path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (const auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, Path(), d, &handles, &raw).ok());
    for (auto* h : handles) {
      if (families.count(h->GetName())) {
        ASSERT_TRUE(raw->DropColumnFamily(h).ok());
      }
      ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    }
    ASSERT_TRUE(raw->Close().ok());
    delete raw;
  }

  TempDir dir_;
};

TEST_F(JourneyStoreIntegrityTest, AStoreWrittenByThisBuildReopensWithEveryEntry) {
  WriteEntries();
  ExpectEveryEntry();
  ExpectEveryEntry();
}

TEST_F(JourneyStoreIntegrityTest, ADamagedWriteAheadLogIsRefusedNotCutShort) {
  WriteEntries();
  auto logs = StoreFiles(Path(), StoreFile::kWriteAheadLog);
  ASSERT_FALSE(logs.empty());
  FlipBytes(logs[0], fs::file_size(logs[0]) / 2);
  ExpectRefused(logs[0].filename().string());
}

TEST_F(JourneyStoreIntegrityTest, ADamagedManifestIsRefusedWhereverItIsHit) {
  for (int tenth = 1; tenth < 10; ++tenth) {
    SCOPED_TRACE("flip at " + std::to_string(tenth) + "/10 of the MANIFEST");
    fs::remove_all(Path());
    WriteEntries();
    auto manifests = StoreFiles(Path(), StoreFile::kManifest);
    ASSERT_EQ(manifests.size(), 1u);
    FlipBytes(manifests[0], fs::file_size(manifests[0]) * tenth / 10);
    ExpectRefused("MANIFEST-");
  }
}

TEST_F(JourneyStoreIntegrityTest, ADamagedTableIsRefused) {
  WriteEntries();
  { ASSERT_OK(JourneyStore::Open(Path())); }  // recovery flushes the log into tables
  auto tables = StoreFiles(Path(), StoreFile::kTable);
  ASSERT_FALSE(tables.empty());
  FlipBytes(tables[0], fs::file_size(tables[0]) - 200);  // the index block
  ExpectRefused(tables[0].filename().string());
}

TEST_F(JourneyStoreIntegrityTest, AMissingFamilyIsRefusedNotRecreatedEmpty) {
  WriteEntries();
  DropFamilies({"seen"});
  ExpectRefused("column family 'seen' is missing");
}

TEST_F(JourneyStoreIntegrityTest, AStoreOfLayoutTwoLeftWithOnlyTheDefaultFamilyIsRefused) {
  // What layout 1 looks like, but with layout 2's marker: not a store to
  // convert, a store that lost its families.
  WriteEntries();
  std::set<std::string> all;
  for (Family f : keys::kFamilies) {
    if (f != Family::kMeta) all.insert(std::string(keys::FamilyName(f)));
  }
  DropFamilies(all);
  ExpectRefused("is missing from an existing store");
}

}  // namespace
}  // namespace threadline::journey
