#pragma once

// Keeps a RocksDB store writable through a full disk and other write errors:
// refuses writes while one stands, and brings the store back by itself.

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "threadline/common/store_health.h"

namespace threadline::rocks {

struct WriteGuardOptions {
  // Wait before the first DB::Resume() after a write error; each failed
  // attempt doubles it. Default: 100 ms.
  std::chrono::milliseconds first_retry{100};
  // The longest wait between two attempts. Default: 5 s.
  std::chrono::milliseconds max_retry{5000};
};

// Every write of a store goes through its guard. After a failed write (a
// full disk, an I/O error) or a background error (a flush or compaction
// that could not write), RocksDB refuses writes until DB::Resume(). The
// guard then refuses them itself with UNAVAILABLE ("event store at PATH
// cannot write: no space left on device; retrying ..."), and a thread of
// its own calls Resume with back-off until it succeeds, after which writes
// are accepted again. Reads are untouched throughout.
//
// Two things of RocksDB 7.8 it works around (docs/durability.md, "Disk
// full"): its own recovery waits for write_buffer_size (64 MiB) of free
// space, which a small volume never has, and keeps Resume() returning
// busy, so the guard turns it off; and Resume() replaces a write-ahead log
// that failed only when it flushes a memtable that holds data, so the
// guard keeps one deletion of an unused key, written without the log, in
// the default family's memtable. Should Resume keep the failed log anyway,
// the next write would trip an assertion and abort the process; the guard
// refuses writes instead and reports that the store needs a restart.
//
// Lifecycle: rocks::Open creates it, calls Prepare before DB::Open and
// Attach after. The owner calls Stop before closing the database.
// Thread-safe.
class WriteGuard {
 public:
  // `what` and `path` name the store in errors and logs ("event store").
  WriteGuard(std::string what, std::string path, WriteGuardOptions options = {});
  ~WriteGuard();
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;

  // Before DB::Open: adds the listener that reports errors and turns
  // RocksDB's own recovery off.
  void Prepare(rocksdb::DBOptions& options);
  // After DB::Open: starts the recovery thread. `db` must outlive Stop().
  [[nodiscard]] absl::Status Attach(rocksdb::DB* db);

  // Writes `batch`. UNAVAILABLE naming the store and the cause while the
  // store cannot write; other RocksDB errors as FromRocks(status, doing).
  [[nodiscard]] absl::Status Write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch,
                                   std::string_view doing);

  StoreHealth Health() const;

  // Stops the recovery thread; idempotent. Writes still go through after
  // it, but are no longer recovered.
  void Stop();

 private:
  struct State;
  class Listener;
  enum class Attempt { kResumed, kFailed, kNeedsRestart };

  void Run();
  Attempt TryResume(uint64_t failed_log, bool log_failed);
  absl::Status Refused(std::string_view doing);

  const std::string what_;
  const std::string path_;
  const WriteGuardOptions options_;
  std::shared_ptr<State> state_;  // shared with the listener, which the database owns
  rocksdb::DB* db_ = nullptr;
  // Writers hold it shared; Resume runs under it exclusively, so that no
  // write reaches the database while it recovers.
  std::shared_mutex write_mu_;
  std::thread thread_;
};

}  // namespace threadline::rocks
