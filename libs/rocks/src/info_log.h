#pragma once

// The store's LOG file, written so that a full disk cannot end the process.

#include <rocksdb/env.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <string>

namespace threadline::rocks {

// RocksDB's own file logger keeps the first failed write as a sticky error,
// and the next line it logs trips an assertion: Debian builds RocksDB with
// assertions on, so on a full disk the second LOG line that does not fit
// aborts the process (SIGTERM after a write error, or a start on a full
// disk, ended in SIGABRT). This one writes each line with one write(2) and
// drops a line the disk cannot take; the next line is tried afresh.
//
// Same format as RocksDB's ("2024/05/01-12:00:00.123456 7f12ab... text").
// Thread-safe; owned through the shared_ptr in DBOptions::info_log.
class InfoLog final : public rocksdb::Logger {
 public:
  // Appends to `dir`/LOG, first moving a LOG left by an earlier open aside to
  // LOG.old.<microseconds>, as RocksDB does (it deletes the oldest beyond
  // DBOptions::keep_log_file_num). When `dir` cannot be written, every line
  // is dropped.
  InfoLog(const std::string& dir, rocksdb::InfoLogLevel level);
  ~InfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

  // Lines that could not be written.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 protected:
  rocksdb::Status CloseImpl() override;

 private:
  std::atomic<int> fd_{-1};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace threadline::rocks
