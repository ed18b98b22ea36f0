#pragma once

// The project's RocksDB adapter: status conversion, opening with clear
// errors, and a content digest. Only libraries that own a RocksDB database
// include this header, and they link it PRIVATE, so rocksdb types stay out
// of every other public header.

#include <rocksdb/db.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/rocks/write_guard.h"

namespace threadline::rocks {

// Maps a RocksDB status to absl: I/O trouble is UNAVAILABLE (transient),
// corruption DATA_LOSS, anything else INTERNAL; `what` says what was being
// done.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

// How an existing database may differ from what the caller names.
struct OpenPolicy {
  // Create the named column families an existing database lacks. Only for a
  // store whose layout converter fills them (the journey's layout 1): for
  // any other store a family that vanished means a damaged MANIFEST, and
  // recreating it empty would drop every key it held. Default: false.
  bool may_add_families = false;
};

// Opens a database with the given column families, creating it (and its
// families) only when `path` holds no database yet. Every open recovers the
// write-ahead log with WALRecoveryMode::kAbsoluteConsistency, so a damaged
// log refuses the open instead of being cut short (docs/durability.md).
// The database gets an info log (its LOG file) that cannot abort the
// process on a full disk, as RocksDB's own does (src/info_log.h), and a
// WriteGuard, through which the caller makes every write.
// Errors: a database held by another process is FAILED_PRECONDITION naming
// `what` and `path`; a damaged write-ahead log, MANIFEST or table file, or a
// column family missing from an existing database, is DATA_LOSS naming
// `what`, `path` and the file, and is logged at error level; a full disk
// is UNAVAILABLE naming `what`, `path` and the free space.
struct Opened {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*>
      handles;  // owned by the caller; empty for Open(Options)
  // Every write goes through it. Stop it before closing `db`.
  std::unique_ptr<WriteGuard> guard;
};
absl::StatusOr<Opened> Open(const rocksdb::DBOptions& options, const std::string& path,
                            const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                            std::string_view what, const OpenPolicy& policy = {});
// The same for a database with only the default column family.
absl::StatusOr<Opened> Open(const rocksdb::Options& options, const std::string& path,
                            std::string_view what);

// True when `path` holds a RocksDB database (its CURRENT file exists).
bool Exists(const std::string& path);

// FNV-1a over a sequence of strings, each followed by a separator, so
// ("ab","c") and ("a","bc") differ. For checksums that prove equality of
// stores, not for security.
class Digest {
 public:
  void Add(std::string_view s);
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 1469598103934665603ULL;
};

}  // namespace threadline::rocks
