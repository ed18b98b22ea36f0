#include "store.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <set>

#include "legacy_layout.h"
#include "threadline/common/coding.h"
#include "threadline/common/status.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

using keys::Family;
using rocks::FromRocks;

rocksdb::ColumnFamilyOptions FamilyOptions(Family f) {
  rocksdb::ColumnFamilyOptions o;
  switch (f) {
    case Family::kCards:
    case Family::kSeen:
    case Family::kSearch: {
      // Point reads, most of them misses during a rebuild (every event's
      // id, every new customer's card): a bloom filter answers those
      // without reading a block.
      rocksdb::BlockBasedTableOptions table;
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      break;
    }
    default:
      break;
  }
  return o;
}

// Whether the default family holds the layout marker: true for every store
// written in layout 2, even one whose MANIFEST lost its other families.
bool HasLayoutMarker(const rocksdb::DBOptions& options, const std::string& path) {
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::Options(options, rocksdb::ColumnFamilyOptions()), path,
                                    &raw)
           .ok()) {
    // rocks::Open reports what is wrong.
    return true;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  return !db->Get(rocksdb::ReadOptions(), keys::kLayoutKey, &value).IsNotFound();
}

}  // namespace

absl::StatusOr<std::unique_ptr<JourneyStore>> JourneyStore::Open(const std::string& path) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  // One memtable budget for all families, the single default memtable's
  // size before there were families: without it each family would fill a
  // 64 MiB memtable of its own, and the small families (meta, seen, cards)
  // would almost never flush and so keep every write-ahead log file alive.
  options.db_write_buffer_size = 64 << 20;
  options.max_total_wal_size = 64 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::set<std::string> ours;
  for (Family f : keys::kFamilies) {
    descriptors.emplace_back(std::string(keys::FamilyName(f)), FamilyOptions(f));
    ours.insert(std::string(keys::FamilyName(f)));
  }
  // Families a newer build added must be opened too, or RocksDB refuses the
  // store before CheckLayout can say what is wrong.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(options, path, &existing).ok()) {
    for (const auto& name : existing) {
      if (!ours.count(name)) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
  }
  // A store of layout 1 has only the default family (one whose conversion
  // was cut short, some of the others) and gets the rest here, for
  // ConvertLegacyLayout to fill. The layout marker is written once the
  // conversion is done: a store with it never lacks a family unless its
  // MANIFEST is damaged, and that is refused, not recreated empty.
  rocks::OpenPolicy policy;
  if (!existing.empty()) {
    const std::set<std::string> have(existing.begin(), existing.end());
    bool lacks_one = false;
    for (const auto& name : ours) lacks_one = lacks_one || !have.count(name);
    policy.may_add_families = lacks_one && !HasLayoutMarker(options, path);
  }
  ASSIGN_OR_RETURN(rocks::Opened opened,
                   rocks::Open(options, path, descriptors, "journey store", policy));
  std::unique_ptr<JourneyStore> store(new JourneyStore(
      path, std::move(opened.db), std::move(opened.handles), std::move(opened.guard)));
  RETURN_IF_ERROR(store->CheckLayout());
  return store;
}

JourneyStore::JourneyStore(std::string path, std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> all_handles,
                           std::unique_ptr<rocks::WriteGuard> guard)
    : path_(std::move(path)),
      db_(std::move(db)),
      all_handles_(std::move(all_handles)),
      guard_(std::move(guard)) {
  for (size_t i = 0; i < keys::kFamilyCount; ++i) handles_[i] = all_handles_[i];
}

JourneyStore::~JourneyStore() {
  guard_->Stop();
  for (auto* h : all_handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

absl::Status JourneyStore::CheckLayout() {
  std::string v;
  ASSIGN_OR_RETURN(bool marked, Get(Family::kMeta, keys::kLayoutKey, &v, "reading the layout"));
  if (!marked) return ConvertLegacyLayout(*this);
  uint32_t layout = v.size() == 4 ? coding::GetFixed32BE(v) : 0;
  if (layout == keys::kLayoutVersion) return absl::OkStatus();
  if (layout > keys::kLayoutVersion) {
    return absl::FailedPreconditionError(
        "journey store at " + path_ + " has layout " + std::to_string(layout) +
        ", newer than this build reads (" + std::to_string(keys::kLayoutVersion) +
        "): run the build that wrote it, or rebuild the journey into a fresh directory with "
        "`threadline journey rebuild` (docs/operations.md, \"Rebuild the journey\")");
  }
  return absl::DataLossError("journey store at " + path_ + ": unreadable layout marker");
}

absl::StatusOr<bool> JourneyStore::Get(Family f, std::string_view key, std::string* value,
                                       std::string_view what) const {
  auto s = db_->Get(rocksdb::ReadOptions(), handle(f), key, value);
  if (s.IsNotFound()) return false;
  RETURN_IF_ERROR(FromRocks(s, what));
  return true;
}

std::unique_ptr<rocksdb::Iterator> JourneyStore::NewIterator(Family f) const {
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(rocksdb::ReadOptions(), handle(f)));
}

void JourneyStore::Put(rocksdb::WriteBatch& batch, Family f, std::string_view key,
                       std::string_view value) const {
  batch.Put(handle(f), key, value).PermitUncheckedError();
}

void JourneyStore::Delete(rocksdb::WriteBatch& batch, Family f, std::string_view key) const {
  batch.Delete(handle(f), key).PermitUncheckedError();
}

absl::Status JourneyStore::Write(rocksdb::WriteBatch& batch, std::string_view what,
                                 const rocksdb::WriteOptions& options) {
  return guard_->Write(options, &batch, what);
}

absl::StatusOr<uint64_t> JourneyStore::Counter(std::string_view key) const {
  std::string v;
  ASSIGN_OR_RETURN(bool found, Get(Family::kMeta, key, &v, "reading the projection's counters"));
  if (!found) return 0;
  if (v.size() != 8) return absl::DataLossError("counter " + std::string(key) + " does not decode");
  return coding::GetFixed64BE(v);
}

absl::StatusOr<bus::Offsets> JourneyStore::LoadOffsets() const {
  bus::Offsets offsets;
  std::string_view prefix = keys::kOffsetPrefix;
  auto it = NewIterator(Family::kMeta);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto tp = keys::ParseOffsetKey(it->key().ToStringView());
    if (!tp || it->value().size() != 8) {
      return absl::DataLossError("stored offset does not decode");
    }
    offsets[*tp] = static_cast<int64_t>(coding::GetFixed64BE(it->value().ToStringView()));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading the stored offsets"));
  return offsets;
}

}  // namespace threadline::journey
