#pragma once

// The journey's RocksDB: one column family per key family (keyspace.h).
// Private to the journey service; nothing outside it sees a rocksdb type.

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keyspace.h"
#include "threadline/bus/offset_consumer.h"
#include "threadline/common/store_health.h"
#include "threadline/rocks/write_guard.h"

namespace threadline::journey {

// Opened once per projector. Reads and Write are thread-safe (RocksDB's own
// guarantees); the store owns its column family handles and closes the
// database on destruction.
class JourneyStore {
 public:
  // Opens (creating) the store at `path`. A store written in layout 1 is
  // converted in place first (legacy_layout.h); one written by a build with
  // a newer layout is FAILED_PRECONDITION.
  static absl::StatusOr<std::unique_ptr<JourneyStore>> Open(const std::string& path);
  ~JourneyStore();
  JourneyStore(const JourneyStore&) = delete;
  JourneyStore& operator=(const JourneyStore&) = delete;

  // Point read: false if the key is absent. `what` names the read in errors.
  absl::StatusOr<bool> Get(keys::Family f, std::string_view key, std::string* value,
                           std::string_view what) const;
  std::unique_ptr<rocksdb::Iterator> NewIterator(keys::Family f) const;
  void Put(rocksdb::WriteBatch& batch, keys::Family f, std::string_view key,
           std::string_view value) const;
  void Delete(rocksdb::WriteBatch& batch, keys::Family f, std::string_view key) const;
  // No fsync by default: the WAL survives kill -9, and after a machine
  // crash the projection re-reads from the offsets committed with it.
  // UNAVAILABLE naming the store while it cannot write (a full disk), until
  // it has recovered by itself (rocks::WriteGuard).
  [[nodiscard]] absl::Status Write(rocksdb::WriteBatch& batch, std::string_view what,
                                   const rocksdb::WriteOptions& options = {});
  // Whether writes are accepted, for readiness and metrics.
  StoreHealth Health() const { return guard_->Health(); }

  // A BE64 counter of the meta family; 0 if absent.
  absl::StatusOr<uint64_t> Counter(std::string_view key) const;
  // The consumed offsets stored with the projection.
  absl::StatusOr<bus::Offsets> LoadOffsets() const;

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* handle(keys::Family f) const {
    return handles_[static_cast<size_t>(f)];
  }
  const std::string& path() const { return path_; }

 private:
  JourneyStore(std::string path, std::unique_ptr<rocksdb::DB> db,
               std::vector<rocksdb::ColumnFamilyHandle*> all_handles,
               std::unique_ptr<rocks::WriteGuard> guard);
  absl::Status CheckLayout();

  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> all_handles_;  // ours and any unknown
  std::array<rocksdb::ColumnFamilyHandle*, keys::kFamilyCount> handles_{};
  std::unique_ptr<rocks::WriteGuard> guard_;  // every write goes through it
};

}  // namespace threadline::journey
