#include "legacy_layout.h"

#include <chrono>

#include "threadline/common/coding.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/rocks/rocks.h"

namespace threadline::journey {
namespace {

using keys::Family;
using rocks::FromRocks;

// Bytes staged per write while converting: large enough that a big store
// converts at disk speed, small enough to bound memory.
constexpr size_t kCopyBatchBytes = 16 << 20;

// The family a layout-1 key belongs to; kMeta for keys that stay.
Family LegacyFamily(std::string_view key) {
  for (Family f : keys::kFamilies) {
    std::string_view prefix = keys::LegacyPrefix(f);
    if (!prefix.empty() && key.starts_with(prefix)) return f;
  }
  return Family::kMeta;
}

}  // namespace

absl::Status ConvertLegacyLayout(JourneyStore& store) {
  const Logger log("journey.store");
  const auto start = std::chrono::steady_clock::now();
  rocksdb::DB* db = store.db();
  uint64_t moved[keys::kFamilyCount] = {};
  uint64_t total = 0;
  // Each write moves a run of keys: puts them in their families and deletes
  // them from the default family up to the last one moved, so a conversion
  // cut short (a crash, a startup probe giving up) goes on from there.
  rocksdb::WriteBatch batch;
  std::string last[keys::kFamilyCount];  // last key moved in this batch, per family
  auto flush = [&]() -> absl::Status {
    for (Family f : keys::kFamilies) {
      std::string& k = last[static_cast<size_t>(f)];
      if (k.empty()) continue;
      batch.DeleteRange(store.handle(Family::kMeta), keys::LegacyPrefix(f), k + '\0')
          .PermitUncheckedError();
      k.clear();
    }
    RETURN_IF_ERROR(store.Write(batch, "converting the journey store"));
    batch.Clear();
    return absl::OkStatus();
  };
  {
    auto it = store.NewIterator(Family::kMeta);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view key = it->key().ToStringView();
      Family f = LegacyFamily(key);
      if (f == Family::kMeta) continue;
      if (total == 0) {
        log.Info(
            "journey store written in layout 1: converting it in place to layout 2 (one column "
            "family per key family); offsets and sequence numbers are kept",
            {{"path", store.path()}});
      }
      store.Put(batch, f, key.substr(keys::LegacyPrefix(f).size()), it->value().ToStringView());
      last[static_cast<size_t>(f)].assign(key);
      ++moved[static_cast<size_t>(f)];
      ++total;
      if (batch.GetDataSize() >= kCopyBatchBytes) RETURN_IF_ERROR(flush());
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reading a layout-1 journey store"));
  }
  RETURN_IF_ERROR(flush());
  std::string marker;
  coding::PutFixed32BE(marker, keys::kLayoutVersion);
  rocksdb::WriteBatch finish;
  store.Put(finish, Family::kMeta, keys::kLayoutKey, marker);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  RETURN_IF_ERROR(store.Write(finish, "finishing the journey store's conversion", sync));
  if (total == 0) return absl::OkStatus();
  // Reclaims the old keys' space now rather than at some later compaction,
  // and spares reads of the meta family from skipping their tombstones.
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  RETURN_IF_ERROR(
      FromRocks(db->CompactRange(compact, store.handle(Family::kMeta), nullptr, nullptr),
                "compacting the converted journey store"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log.Info("journey store converted to layout 2",
           {{"path", store.path()},
            {"keys", total},
            {"envelopes", moved[static_cast<size_t>(Family::kEnvelopes)]},
            {"timeline", moved[static_cast<size_t>(Family::kTimeline)]},
            {"cards", moved[static_cast<size_t>(Family::kCards)]},
            {"seen", moved[static_cast<size_t>(Family::kSeen)]},
            {"search", moved[static_cast<size_t>(Family::kSearch)]},
            {"feed", moved[static_cast<size_t>(Family::kFeed)]},
            {"seconds", seconds}});
  return absl::OkStatus();
}

}  // namespace threadline::journey
