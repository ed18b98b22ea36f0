#pragma once

// Helpers shared by the benchmark programs in bench/: opening the bus they
// measure against, latency percentiles, resident memory and bytes on disk.
// Benchmarks print their results as `key=value` lines on stdout so that
// bench/run can collect them without parsing prose.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"
#include "threadline/privacy/vault.h"

namespace threadline::bench {

// "kafka:HOST:PORT[,HOST:PORT]" or "embedded:DIR" (the smoke test runs
// every tool on the embedded bus so that it needs no broker).
absl::StatusOr<std::unique_ptr<bus::Bus>> OpenBus(const std::string& spec);

// Nearest-rank percentile of `values` (sorted in place); 0 when empty.
double Percentile(std::vector<double>& values, double p);

// Peak resident set size of this process in bytes (getrusage ru_maxrss).
uint64_t MaxRssBytes();

// Bytes of every regular file under `dir`.
uint64_t DirBytes(const std::string& dir);

// Flushes every memtable of the RocksDB database at `dir` (all column
// families) and compacts it fully, so that its size on disk is the steady
// state rather than whatever happened to be in the write-ahead log.
absl::Status CompactDatabase(const std::string& dir);

// Keys for benchmarks that seal: a key vault at `dir`, unsynced (as the
// stores they run beside), under a fixed master key so that one tool fills
// it and another reads it (benchmark data only), with a cache in front as
// the suite runs it. Empty `dir`: no keys (null).
struct BenchKeys {
  std::unique_ptr<privacy::Vault> vault;
  std::unique_ptr<privacy::KeyCache> cache;  // in front of vault
  privacy::KeyCache* get() const { return cache.get(); }
};
absl::StatusOr<BenchKeys> OpenBenchKeys(const std::string& dir, bool read_only = false);

// Prints "key=value\n" on stdout.
void Emit(const std::string& key, const std::string& value);
void Emit(const std::string& key, double value);
void Emit(const std::string& key, uint64_t value);

inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
inline double Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

}  // namespace threadline::bench
