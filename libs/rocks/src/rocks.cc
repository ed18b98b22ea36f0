#include "threadline/rocks/rocks.h"

namespace threadline::rocks {
namespace {

absl::Status OpenError(const rocksdb::Status& s, const std::string& path, std::string_view what) {
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(std::string(what) + " at " + path +
                                         " is in use by another process: " + s.ToString());
  }
  return FromRocks(s, "opening the " + std::string(what) + " at " + path);
}

}  // namespace

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(msg);
  }
  if (s.IsCorruption()) return absl::DataLossError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<Opened> Open(const rocksdb::DBOptions& options, const std::string& path,
                            const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                            std::string_view what) {
  Opened out;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, path, families, &out.handles, &raw);
  if (!s.ok()) return OpenError(s, path, what);
  out.db.reset(raw);
  return out;
}

absl::StatusOr<std::unique_ptr<rocksdb::DB>> Open(const rocksdb::Options& options,
                                                  const std::string& path, std::string_view what) {
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) return OpenError(s, path, what);
  return std::unique_ptr<rocksdb::DB>(raw);
}

void Digest::Add(std::string_view s) {
  for (unsigned char c : s) {
    h_ ^= c;
    h_ *= 1099511628211ULL;
  }
  h_ ^= 0xff;
  h_ *= 1099511628211ULL;
}

}  // namespace threadline::rocks
