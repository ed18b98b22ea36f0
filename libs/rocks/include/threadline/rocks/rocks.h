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

namespace threadline::rocks {

// Maps a RocksDB status to absl: I/O trouble is UNAVAILABLE (transient),
// corruption DATA_LOSS, anything else INTERNAL; `what` says what was being
// done.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

// Opens (creating) a database with the given column families. A database
// held by another process is FAILED_PRECONDITION naming `what` and `path`.
struct Opened {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned by the caller
};
absl::StatusOr<Opened> Open(const rocksdb::DBOptions& options, const std::string& path,
                            const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                            std::string_view what);
// The same for a database with only the default column family.
absl::StatusOr<std::unique_ptr<rocksdb::DB>> Open(const rocksdb::Options& options,
                                                  const std::string& path, std::string_view what);

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
