#include "threadline/rocks/write_guard.h"

#include <rocksdb/listener.h>
#include <rocksdb/transaction_log.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "threadline/common/disk.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/rocks/rocks.h"

namespace threadline::rocks {
namespace {

using Severity = rocksdb::Status::Severity;

// A key no store uses, in the default family. Its deletion, written without
// the log, keeps a memtable non-empty (see the class comment); as a
// deletion of a key that never existed, no read or scan ever sees it.
constexpr std::string_view kAnchorKey =
    "\xff"
    "threadline.rocks.wal-anchor";

rocksdb::Status WriteAnchor(rocksdb::DB* db) {
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  return db->Delete(wo, db->DefaultColumnFamily(),
                    rocksdb::Slice(kAnchorKey.data(), kAnchorKey.size()));
}

std::string Describe(const rocksdb::Status& s) {
  if (s.IsNoSpace()) return "no space left on device";
  return s.ToString();
}

// The number of the write-ahead log RocksDB writes to now.
bool CurrentLog(rocksdb::DB* db, uint64_t* number) {
  std::unique_ptr<rocksdb::LogFile> file;
  if (!db->GetCurrentWalFile(&file).ok() || file == nullptr) return false;
  *number = file->LogNumber();
  return true;
}

}  // namespace

// What the listener (on RocksDB's threads), the writers and the recovery
// thread share. The listener lives as long as the database, which may be
// longer than the guard.
struct WriteGuard::State {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> writable{true};  // written under mu
  std::atomic<uint64_t> write_errors{0};
  // Guarded by mu:
  bool pending = false;        // an error waits for Resume
  bool log_failed = false;     // a write to the write-ahead log failed
  bool needs_restart = false;  // an error Resume cannot clear
  uint64_t generation = 0;     // counts errors, so an attempt sees one that came meanwhile
  uint64_t recoveries = 0;
  std::string error;  // what stopped writes
  bool stop = false;

  void Fail(const rocksdb::Status& s, bool in_log, bool stops_writes, bool fatal) {
    std::lock_guard lock(mu);
    ++generation;
    if (stops_writes) {
      if (writable.load() || error.empty()) error = Describe(s);
      writable.store(false, std::memory_order_release);
    }
    log_failed = log_failed || in_log;
    needs_restart = needs_restart || fatal;
    pending = true;
    cv.notify_all();
  }
};

class WriteGuard::Listener final : public rocksdb::EventListener {
 public:
  explicit Listener(std::shared_ptr<State> state) : state_(std::move(state)) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* status) override {
    if (status == nullptr || status->ok() || status->severity() == Severity::kNoError) return;
    const bool foreground = reason == rocksdb::BackgroundErrorReason::kWriteCallback;
    // A failed write counts itself in Write(); flushes and compactions here.
    if (!foreground) state_->write_errors.fetch_add(1, std::memory_order_relaxed);
    state_->Fail(*status, foreground || reason == rocksdb::BackgroundErrorReason::kMemTable,
                 status->severity() >= Severity::kHardError,
                 status->severity() >= Severity::kFatalError);
  }

  // RocksDB's own recovery from a full disk waits for write_buffer_size of
  // free space (64 MiB), which a small volume never has, and while it waits
  // Resume() answers busy. The guard's thread recovers instead.
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    if (auto_recovery != nullptr) *auto_recovery = false;
  }

 private:
  std::shared_ptr<State> state_;
};

WriteGuard::WriteGuard(std::string what, std::string path, WriteGuardOptions options)
    : what_(std::move(what)),
      path_(std::move(path)),
      options_(options),
      state_(std::make_shared<State>()) {}

WriteGuard::~WriteGuard() { Stop(); }

void WriteGuard::Prepare(rocksdb::DBOptions& options) {
  options.listeners.push_back(std::make_shared<Listener>(state_));
  // The retry of "retryable" I/O errors is RocksDB's recovery too: one
  // recovery, the guard's.
  options.max_bgerror_resume_count = 0;
  // The anchor is written without the log, which makes RocksDB flush every
  // memtable at close; stores have always closed without that flush (the
  // log holds everything), and go on doing so.
  options.avoid_flush_during_shutdown = true;
}

absl::Status WriteGuard::Attach(rocksdb::DB* db) {
  db_ = db;
  RETURN_IF_ERROR(FromRocks(WriteAnchor(db_), "opening the " + what_ + " at " + path_));
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void WriteGuard::Stop() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status WriteGuard::Write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch,
                               std::string_view doing) {
  if (!state_->writable.load(std::memory_order_acquire)) return Refused(doing);
  std::shared_lock lock(write_mu_);
  // Again under the lock: a recovery may have finished, or an error come.
  if (!state_->writable.load(std::memory_order_acquire)) return Refused(doing);
  const rocksdb::Status s = db_->Write(options, batch);
  if (s.ok()) return absl::OkStatus();
  if (!s.IsIOError()) return FromRocks(s, doing);
  state_->Fail(s, /*in_log=*/true, /*stops_writes=*/true, /*fatal=*/false);
  return Refused(doing);
}

absl::Status WriteGuard::Refused(std::string_view doing) {
  state_->write_errors.fetch_add(1, std::memory_order_relaxed);
  std::string error;
  bool needs_restart;
  {
    std::lock_guard lock(state_->mu);
    error = state_->error;
    needs_restart = state_->needs_restart;
  }
  std::string msg = what_ + " at " + path_ + " cannot write: " + error + "; this write (" +
                    std::string(doing) + ") was not stored. ";
  if (needs_restart) {
    msg += "It cannot recover in this process: restart it";
  } else {
    msg += error.starts_with("no space") ? "It retries by itself and accepts writes again once "
                                           "space is freed"
                                         : "It retries by itself and accepts writes again once "
                                           "the disk takes them";
  }
  return absl::UnavailableError(msg + " (docs/operations.md, \"Disk full\")");
}

StoreHealth WriteGuard::Health() const {
  StoreHealth h;
  std::lock_guard lock(state_->mu);
  h.writable = state_->writable.load();
  h.needs_restart = state_->needs_restart;
  h.write_errors = state_->write_errors.load();
  h.recoveries = state_->recoveries;
  if (!h.writable) h.error = state_->error;
  return h;
}

WriteGuard::Attempt WriteGuard::TryResume(uint64_t failed_log, bool log_failed) {
  // No write reaches the database from here until the guard accepts writes
  // again: one that got to the failed log would abort the process.
  std::unique_lock lock(write_mu_);
  const rocksdb::Status s = db_->Resume();
  if (!s.ok()) {
    return s.severity() >= Severity::kFatalError ? Attempt::kNeedsRestart : Attempt::kFailed;
  }
  if (log_failed) {
    uint64_t current = 0;
    if (!CurrentLog(db_, &current)) return Attempt::kFailed;
    // Resume flushed no memtable, so it kept the log that failed.
    if (current == failed_log) return Attempt::kNeedsRestart;
  }
  // Resume flushed every memtable: the next failure finds one with data.
  if (!WriteAnchor(db_).ok()) return Attempt::kFailed;
  return Attempt::kResumed;
}

void WriteGuard::Run() {
  const Logger log("rocks");
  LogEvery still_failing(std::chrono::seconds(30));
  auto free_space = [this]() -> std::string {
    auto d = GetDiskSpace(path_);
    return d.ok() ? HumanBytes(d->free_bytes) : "unknown";
  };
  std::unique_lock lock(state_->mu);
  while (true) {
    state_->cv.wait(lock, [&] { return state_->stop || state_->pending; });
    if (state_->stop) return;
    if (state_->needs_restart) {
      state_->pending = false;
      log.Error("store cannot recover from its write error in this process; restart it",
                {{"store", what_}, {"path", path_}, {"error", state_->error}});
      continue;
    }
    const auto started = std::chrono::steady_clock::now();
    if (!state_->writable.load()) {
      log.Error(
          "store cannot write; refusing writes and retrying",
          {{"store", what_}, {"path", path_}, {"error", state_->error}, {"free", free_space()}});
    } else {
      log.Warn(
          "store's background work stopped (a flush or compaction could not write); "
          "resuming it",
          {{"store", what_}, {"path", path_}, {"free", free_space()}});
    }
    // The log that failed, before any Resume can replace it: until the
    // failure nothing else writes (RocksDB refuses writes), and only this
    // thread resumes.
    bool log_failed = false;
    uint64_t failed_log = 0;
    auto wait = options_.first_retry;
    uint64_t attempts = 0;
    while (true) {
      state_->cv.wait_for(lock, wait, [&] { return state_->stop; });
      if (state_->stop) return;
      if (state_->needs_restart) {
        log.Error("store cannot recover from its write error in this process; restart it",
                  {{"store", what_}, {"path", path_}, {"error", state_->error}});
        state_->pending = false;
        break;
      }
      if (state_->log_failed && !log_failed) {
        lock.unlock();
        const bool known = CurrentLog(db_, &failed_log);
        lock.lock();
        if (!known) {
          wait = std::min(wait * 2, options_.max_retry);
          continue;
        }
        log_failed = true;
      }
      const uint64_t generation = state_->generation;
      state_->pending = false;
      lock.unlock();
      const Attempt attempt = TryResume(failed_log, log_failed);
      lock.lock();
      ++attempts;
      if (attempt == Attempt::kNeedsRestart) {
        state_->needs_restart = true;
        log.Error(
            "store cannot recover from its write error in this process (RocksDB kept the "
            "failed write-ahead log, or the error is fatal); refusing writes: restart it",
            {{"store", what_}, {"path", path_}, {"error", state_->error}});
        break;
      }
      if (attempt == Attempt::kResumed && state_->generation == generation) {
        const bool was_stopped = !state_->writable.load();
        state_->writable.store(true, std::memory_order_release);
        state_->error.clear();
        state_->log_failed = false;
        ++state_->recoveries;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        log.Info(was_stopped ? "store writes again" : "store recovered from a background error",
                 {{"store", what_}, {"path", path_}, {"attempts", attempts}, {"after_ms", ms}});
        break;
      }
      if (still_failing.Allow()) {
        log.Warn("store still cannot write; retrying", {{"store", what_},
                                                        {"path", path_},
                                                        {"error", state_->error},
                                                        {"attempts", attempts},
                                                        {"free", free_space()}});
      }
      wait = std::min(wait * 2, options_.max_retry);
    }
  }
}

}  // namespace threadline::rocks
