#include "threadline/privacy/vault.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <functional>

#include "threadline/common/coding.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/rocks/rocks.h"

namespace threadline::privacy {
namespace {

using rocks::FromRocks;

const Logger& Log() {
  static const Logger* log = new Logger("privacy");
  return *log;
}

constexpr char kMasterId[] = "meta/master";
constexpr char kIndexKey[] = "meta/index";

std::string KeyRow(std::string_view subject) { return "key/" + std::string(subject); }
std::string ErasedRow(std::string_view subject) { return "erased/" + std::string(subject); }

// The associated data of a wrapped key: which row it belongs to, so a
// wrapped key copied to another customer's row does not open.
std::string WrapAad(std::string_view row) { return "vault|" + std::string(row); }

absl::Status CheckSubject(std::string_view subject) {
  if (subject.empty() || subject.size() > 200) {
    return absl::InvalidArgumentError("key subject must be 1..200 bytes");
  }
  return absl::OkStatus();
}

}  // namespace

class Vault::Impl {
 public:
  VaultOptions options;
  std::unique_ptr<rocksdb::DB> db;
  // Every write goes through it; declared after `db`, so it stops first.
  std::unique_ptr<rocks::WriteGuard> guard;
  rocksdb::WriteOptions sync_write;
  // Creation and erasure of one subject's key take turns (striped by
  // subject); different subjects' new keys are written concurrently, so
  // RocksDB shares one fsync among them.
  std::array<std::mutex, 64> subject_mu;
  std::mutex& SubjectMutex(std::string_view subject) {
    return subject_mu[std::hash<std::string_view>()(subject) % subject_mu.size()];
  }
  std::mutex listeners_mu;
  std::vector<std::function<void(const std::string&)>> listeners;
  std::string master_id;

  absl::StatusOr<std::optional<std::string>> Get(const std::string& row) {
    std::string v;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), row, &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    RETURN_IF_ERROR(FromRocks(s, "reading the key vault"));
    return std::optional<std::string>(std::move(v));
  }

  absl::StatusOr<Key> Unwrap(const std::string& row, const std::string& wrapped) {
    auto raw = OpenBytes(options.master, WrapAad(row), wrapped);
    if (!raw.ok() || raw->size() != 32) {
      return absl::DataLossError("key vault at " + options.path + ": the key in row " + row +
                                 " does not unwrap under master key " + master_id);
    }
    Key k;
    std::copy(raw->begin(), raw->end(), k.bytes.begin());
    return k;
  }

  // Rewraps every wrapped row from `from` to options.master, in one batch.
  absl::Status Rewrap(const Key& from) {
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string row = it->key().ToString();
      if (!row.starts_with("key/") && row != kIndexKey) continue;
      auto raw = OpenBytes(from, WrapAad(row), it->value().ToStringView());
      if (!raw.ok()) {
        return absl::DataLossError("key vault at " + options.path + ": row " + row +
                                   " does not unwrap under the previous master key");
      }
      batch.Put(row, SealBytes(options.master, WrapAad(row), *raw));
      ++n;
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "reading the key vault"));
    batch.Put(kMasterId, KeyId(options.master));
    RETURN_IF_ERROR(guard->Write(sync_write, &batch, "rewrapping the key vault"));
    // The rows wrapped by the old key must not linger in old files.
    RETURN_IF_ERROR(Purge(nullptr, nullptr));
    Log().Info("key vault rewrapped under a new master key",
               {{"path", options.path}, {"keys", n}, {"master_key_id", KeyId(options.master)}});
    return absl::OkStatus();
  }

  // Flushes the memtable (so the write-ahead log that held deleted values
  // is retired) and rewrites the table files holding [begin, end], dropping
  // deleted values from disk.
  absl::Status Purge(const rocksdb::Slice* begin, const rocksdb::Slice* end) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    RETURN_IF_ERROR(FromRocks(db->Flush(flush), "flushing the key vault"));
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    RETURN_IF_ERROR(FromRocks(db->CompactRange(compact, begin, end), "compacting the key vault"));
    return absl::OkStatus();
  }
};

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() = default;

absl::StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->sync_write.sync = options.sync;
  rocksdb::Options ro;
  ro.create_if_missing = true;
  // Deleted keys must leave the disk: no recycled or archived logs.
  ro.recycle_log_file_num = 0;
  ro.WAL_ttl_seconds = 0;
  ro.WAL_size_limit_MB = 0;
  if (options.read_only) {
    rocksdb::DB* db = nullptr;
    RETURN_IF_ERROR(FromRocks(rocksdb::DB::OpenForReadOnly(ro, options.path, &db),
                              "opening the key vault at " + options.path + " read-only"));
    impl->db.reset(db);
  } else {
    ASSIGN_OR_RETURN(rocks::Opened opened, rocks::Open(ro, options.path, "key vault"));
    impl->db = std::move(opened.db);
    impl->guard = std::move(opened.guard);
  }
  const std::string want = KeyId(options.master);
  ASSIGN_OR_RETURN(auto stored, impl->Get(kMasterId));
  if (!stored && options.read_only) {
    return absl::FailedPreconditionError("key vault at " + options.path + " was never set up");
  }
  if (stored && *stored != want && options.read_only) {
    return absl::FailedPreconditionError("key vault at " + options.path +
                                         " is wrapped by master key " + *stored +
                                         ", not by the one given (" + want + ")");
  }
  if (!stored) {
    rocksdb::WriteBatch batch;
    batch.Put(kMasterId, want);
    batch.Put(kIndexKey, SealBytes(options.master, WrapAad(kIndexKey), RandomKey().view()));
    RETURN_IF_ERROR(impl->guard->Write(impl->sync_write, &batch, "creating the key vault"));
  } else if (*stored != want) {
    if (options.previous_master && KeyId(*options.previous_master) == *stored) {
      RETURN_IF_ERROR(impl->Rewrap(*options.previous_master));
    } else {
      return absl::FailedPreconditionError(
          "key vault at " + options.path + " is wrapped by master key " + *stored +
          ", but the master key given has id " + want +
          (options.previous_master ? " and the previous one " + KeyId(*options.previous_master)
                                   : std::string()) +
          " (docs/privacy.md: rotating the master key)");
    }
  }
  impl->master_id = want;
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

absl::StatusOr<Key> Vault::Obtain(std::string_view subject) {
  RETURN_IF_ERROR(CheckSubject(subject));
  ASSIGN_OR_RETURN(KeyLookup found, Find(subject));
  if (found.key) return *found.key;
  if (found.erased) return ErasedError(subject);
  if (impl_->options.read_only) {
    return absl::FailedPreconditionError("the key vault is open read-only: no key is made for " +
                                         std::string(subject));
  }
  std::lock_guard lock(impl_->SubjectMutex(subject));
  // Another writer may have created it, or erased the subject, meanwhile.
  ASSIGN_OR_RETURN(found, Find(subject));
  if (found.key) return *found.key;
  if (found.erased) return ErasedError(subject);
  Key k = RandomKey();
  const std::string row = KeyRow(subject);
  rocksdb::WriteBatch batch;
  batch.Put(row, SealBytes(impl_->options.master, WrapAad(row), k.view()));
  RETURN_IF_ERROR(impl_->guard->Write(impl_->sync_write, &batch, "storing a data key"));
  return k;
}

absl::StatusOr<KeyLookup> Vault::Find(std::string_view subject) {
  RETURN_IF_ERROR(CheckSubject(subject));
  const std::string row = KeyRow(subject);
  ASSIGN_OR_RETURN(auto wrapped, impl_->Get(row));
  if (wrapped) {
    ASSIGN_OR_RETURN(Key k, impl_->Unwrap(row, *wrapped));
    return KeyLookup{k, false};
  }
  ASSIGN_OR_RETURN(auto erased, impl_->Get(ErasedRow(subject)));
  return KeyLookup{std::nullopt, erased.has_value()};
}

absl::StatusOr<Key> Vault::IndexKey() {
  ASSIGN_OR_RETURN(auto wrapped, impl_->Get(kIndexKey));
  if (!wrapped)
    return absl::DataLossError("key vault at " + impl_->options.path + " has no index key");
  return impl_->Unwrap(kIndexKey, *wrapped);
}

absl::StatusOr<Vault::Erasure> Vault::Erase(std::string_view subject) {
  RETURN_IF_ERROR(CheckSubject(subject));
  if (impl_->options.read_only) {
    return absl::FailedPreconditionError("the key vault is open read-only: nothing is erased");
  }
  {
    std::lock_guard lock(impl_->SubjectMutex(subject));
    if (auto at = ErasedAt(subject); !at.ok()) {
      return at.status();
    } else if (*at) {
      return Erasure{false, **at};
    }
    // Stored to the microsecond: what a later erasure reports.
    const TimePoint now = FromUnixMicros(
        ToUnixMicros((impl_->options.clock ? *impl_->options.clock : Clock::Real()).Now()));
    const std::string row = KeyRow(subject);
    rocksdb::WriteBatch batch;
    batch.Delete(row);
    batch.Put(ErasedRow(subject), std::to_string(ToUnixMicros(now)));
    RETURN_IF_ERROR(impl_->guard->Write(impl_->sync_write, &batch, "erasing a data key"));
    rocksdb::Slice begin(row);
    rocksdb::Slice end(row);
    RETURN_IF_ERROR(impl_->Purge(&begin, &end));
    Log().Info("data key destroyed", {{"subject", subject}});
    std::vector<std::function<void(const std::string&)>> listeners;
    {
      std::lock_guard l(impl_->listeners_mu);
      listeners = impl_->listeners;
    }
    for (auto& l : listeners) l(std::string(subject));
    return Erasure{true, now};
  }
}

absl::StatusOr<std::optional<TimePoint>> Vault::ErasedAt(std::string_view subject) {
  ASSIGN_OR_RETURN(auto v, impl_->Get(ErasedRow(subject)));
  if (!v) return std::optional<TimePoint>();
  return std::optional<TimePoint>(FromUnixMicros(std::stoll(*v)));
}

void Vault::OnErase(std::function<void(const std::string&)> listener) {
  std::lock_guard l(impl_->listeners_mu);
  impl_->listeners.push_back(std::move(listener));
}

std::string Vault::MasterKeyId() const { return impl_->master_id; }

StoreHealth Vault::Health() const {
  // A read-only vault never writes.
  return impl_->guard ? impl_->guard->Health() : StoreHealth{};
}

absl::StatusOr<std::optional<std::string>> Vault::WrappedKey(std::string_view subject) {
  return impl_->Get(KeyRow(subject));
}

}  // namespace threadline::privacy
