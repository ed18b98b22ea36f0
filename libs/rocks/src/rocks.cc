#include "threadline/rocks/rocks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "info_log.h"
#include "threadline/common/disk.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"

namespace threadline::rocks {
namespace {

namespace fs = std::filesystem;

// The first store file a RocksDB corruption message names ("... in
// /data/sales/000015.sst offset 836 ..."), or empty. The table and MANIFEST
// readers name their file; the write-ahead log reader does not.
std::string NamedFile(const std::string& msg) {
  size_t start = 0;
  while (start < msg.size()) {
    size_t end = msg.find_first_of(" ,:;()", start);
    if (end == std::string::npos) end = msg.size();
    std::string_view token(msg.data() + start, end - start);
    if (token.find('/') != std::string_view::npos &&
        (token.ends_with(".sst") || token.ends_with(".log") ||
         token.find("MANIFEST-") != std::string_view::npos || token.ends_with("CURRENT"))) {
      return std::string(token);
    }
    start = end + 1;
  }
  return "";
}

// The write-ahead logs in `path`, by name: RocksDB does not say which log a
// recovery error came from, but a store keeps only a few.
std::string WriteAheadLogs(const std::string& path) {
  std::vector<std::string> logs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".log") && name != "LOG") logs.push_back((fs::path(path) / name).string());
  }
  std::sort(logs.begin(), logs.end());
  std::string out;
  for (const auto& l : logs) out += (out.empty() ? "" : ", ") + l;
  return out;
}

// The MANIFEST that CURRENT points to.
std::string CurrentManifest(const std::string& path) {
  std::ifstream in(fs::path(path) / "CURRENT");
  std::string name;
  std::getline(in, name);
  return name.empty() ? (fs::path(path) / "MANIFEST").string() : (fs::path(path) / name).string();
}

// A store that will not open because its files are damaged: DATA_LOSS,
// logged once at error level with the store, its path and the file.
absl::Status Refuse(std::string_view what, const std::string& path, const std::string& file,
                    const std::string& detail) {
  static const Logger log("rocks");
  log.Error("store refused: its files are damaged",
            {{"store", what}, {"path", path}, {"file", file}, {"error", detail}});
  return absl::DataLossError(
      std::string(what) + " at " + path + " refused: " + file + " is damaged (" + detail +
      "); nothing was opened or changed. Restore the store from a backup, or rebuild it "
      "(docs/operations.md, \"A store refuses to open\")");
}

// "1.2 MiB free of 16.0 MiB" on the filesystem of `path` (or of its
// nearest existing parent, for a store not created yet).
std::string FreeSpace(const std::string& path) {
  fs::path p = path;
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec) && p.has_parent_path() && p != p.parent_path()) {
    p = p.parent_path();
  }
  auto d = GetDiskSpace(p.empty() ? "." : p.string());
  if (!d.ok()) return "free space unknown";
  return HumanBytes(d->free_bytes) + " free of " + HumanBytes(d->size_bytes);
}

absl::Status OpenError(const rocksdb::Status& s, const std::string& path, std::string_view what) {
  if (s.IsNoSpace()) {
    // A start on a full disk: one clear line (main prints it) and exit 1,
    // rather than a store that could serve reads but never become ready
    // (docs/durability.md, "Disk full").
    return absl::UnavailableError(std::string(what) + " at " + path +
                                  " cannot open: no space left on device (" + FreeSpace(path) +
                                  "); free space on its volume or grow it, then start again "
                                  "(docs/operations.md, \"Disk full\")");
  }
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(std::string(what) + " at " + path +
                                         " is in use by another process: " + s.ToString());
  }
  if (s.IsCorruption()) {
    const std::string msg = s.ToString();
    if (std::string file = NamedFile(msg); !file.empty()) return Refuse(what, path, file, msg);
    return Refuse(what, path, "the write-ahead log (" + WriteAheadLogs(path) + ")", msg);
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

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(fs::path(path) / "CURRENT", ec);
}

namespace {

// What every open of a read-write store shares: absolute-consistency log
// recovery, the info log that survives a full disk, and the write guard.
std::unique_ptr<WriteGuard> Prepare(rocksdb::DBOptions& o, const std::string& path,
                                    std::string_view what, bool existing) {
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  // Stop writing at the first corruption a background job meets (RocksDB's
  // default, kept explicit). track_and_verify_wals_in_manifest would also
  // catch a write-ahead log that went missing, but Debian's RocksDB 7.8
  // asserts with it when a store that was converted in place is opened
  // read-only (journey_legacy_layout_test), so it stays off.
  o.paranoid_checks = true;
  if (!existing && o.create_if_missing) {
    // RocksDB creates the directory (not its parents) in DB::Open, and the
    // LOG is opened before that.
    std::error_code ec;
    fs::create_directory(path, ec);
  }
  // A read-only open (DB::OpenForReadOnly) has no info log, so only these
  // need one that survives a full disk.
  if (o.info_log == nullptr) o.info_log = std::make_shared<InfoLog>(path, o.info_log_level);
  auto guard = std::make_unique<WriteGuard>(std::string(what), path);
  guard->Prepare(o);
  return guard;
}

}  // namespace

absl::StatusOr<Opened> Open(const rocksdb::DBOptions& options, const std::string& path,
                            const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                            std::string_view what, const OpenPolicy& policy) {
  rocksdb::DBOptions o = options;
  const bool existing = Exists(path);
  o.create_missing_column_families = !existing || policy.may_add_families;
  if (existing) {
    // Never create over an existing store: a database that lost its CURRENT
    // or MANIFEST must not come back empty.
    o.create_if_missing = false;
    std::vector<std::string> names;
    auto listed = rocksdb::DB::ListColumnFamilies(o, path, &names);
    if (!listed.ok()) return OpenError(listed, path, what);
    if (!policy.may_add_families) {
      const std::set<std::string> have(names.begin(), names.end());
      for (const auto& f : families) {
        if (!have.count(f.name)) {
          return Refuse(what, path, CurrentManifest(path),
                        "column family '" + f.name +
                            "' is missing from an existing store; it is not recreated empty");
        }
      }
    }
  }
  Opened out;
  out.guard = Prepare(o, path, what, existing);
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, path, families, &out.handles, &raw);
  if (!s.ok()) return OpenError(s, path, what);
  out.db.reset(raw);
  if (absl::Status attached = out.guard->Attach(out.db.get()); !attached.ok()) {
    for (auto* h : out.handles) out.db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    return attached;
  }
  return out;
}

absl::StatusOr<Opened> Open(const rocksdb::Options& options, const std::string& path,
                            std::string_view what) {
  rocksdb::Options o = options;
  const bool existing = Exists(path);
  if (existing) o.create_if_missing = false;
  Opened out;
  out.guard = Prepare(o, path, what, existing);
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) return OpenError(s, path, what);
  out.db.reset(raw);
  RETURN_IF_ERROR(out.guard->Attach(out.db.get()));
  return out;
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
