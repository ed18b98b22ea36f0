#pragma once

// The key vault: every customer's data key, wrapped (AES-256-GCM) by the
// deployment's master key, in a RocksDB store of its own. Erasing a
// customer deletes the wrapped key and compacts it out of every file of the
// store before it answers, and keeps a marker so the customer stays erased.
// Threadline's own implementation of KeySource; a real KMS plugs in behind
// the same interface (docs/privacy.md).

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/common/clock.h"
#include "threadline/common/store_health.h"
#include "threadline/privacy/keys.h"

namespace threadline::privacy {

struct VaultOptions {
  std::string path;  // the vault's own directory; created if missing
  Key master;        // wraps every key in the vault
  // The master key the vault was wrapped with before a rotation: when the
  // vault is wrapped with it, Open rewraps every key under `master`.
  std::optional<Key> previous_master;
  const Clock* clock = nullptr;  // erasure times; null: the real clock
  // fsync each new key and each erasure before answering. A key must be
  // on disk before any event sealed with it is acknowledged; turn it off
  // only where the event stores run unsynced too (benchmarks, tests).
  bool sync = true;
  // Open without taking the store's lock, beside a running server (a
  // journey rebuild reads keys): keys are found, never made or erased.
  bool read_only = false;
};

class Vault final : public KeySource {
 public:
  // FAILED_PRECONDITION when the vault was wrapped by a master key that is
  // neither `master` nor `previous_master` (naming both ids, never a key).
  static absl::StatusOr<std::unique_ptr<Vault>> Open(const VaultOptions& options);
  ~Vault() override;

  absl::StatusOr<Key> Obtain(std::string_view subject) override;
  absl::StatusOr<KeyLookup> Find(std::string_view subject) override;
  absl::StatusOr<Key> IndexKey() override;

  struct Erasure {
    bool erased_now = false;  // false: it was erased before
    TimePoint erased_at;      // when it was first erased
  };
  // Destroys the subject's key: deleted, flushed and compacted out of the
  // store's files, then every listener is told. Erasing twice is a no-op
  // that says when the first one was.
  absl::StatusOr<Erasure> Erase(std::string_view subject);
  // When the subject was erased, if it was.
  absl::StatusOr<std::optional<TimePoint>> ErasedAt(std::string_view subject);

  // Called after each erasure (on the erasing thread): in-memory caches
  // drop the key.
  void OnErase(std::function<void(const std::string& subject)> listener);

  // The id of the master key the vault is wrapped with.
  std::string MasterKeyId() const;
  // Whether the vault's store accepts writes (not while its disk is full;
  // it recovers by itself), for readiness and metrics.
  StoreHealth Health() const;
  // The stored (wrapped) form of a subject's key, for tests that prove it
  // is gone from disk.
  absl::StatusOr<std::optional<std::string>> WrappedKey(std::string_view subject);

  class Impl;

 private:
  explicit Vault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace threadline::privacy
