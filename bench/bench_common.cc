#include "bench_common.h"

#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/options_util.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "threadline/bus/embedded.h"
#include "threadline/bus/kafka.h"
#include "threadline/common/status.h"
#include "threadline/rocks/rocks.h"

namespace threadline::bench {

absl::StatusOr<std::unique_ptr<bus::Bus>> OpenBus(const std::string& spec) {
  if (spec.starts_with("kafka:")) {
    bus::KafkaOptions o;
    o.brokers = spec.substr(6);
    o.client_id = "threadline-bench";
    return bus::OpenKafkaBus(o);
  }
  if (spec.starts_with("embedded:")) {
    bus::EmbeddedBusOptions o;
    o.path = spec.substr(9);
    return bus::OpenEmbeddedBus(o);
  }
  return absl::InvalidArgumentError("--bus must be kafka:HOST:PORT or embedded:DIR, got '" + spec +
                                    "'");
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

uint64_t MaxRssBytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

absl::Status CompactDatabase(const std::string& dir) {
  // The options the owner wrote (table format, bloom filters), so that the
  // compacted files are what the owner's own compactions would produce.
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  RETURN_IF_ERROR(rocks::FromRocks(
      rocksdb::LoadLatestOptions(rocksdb::ConfigOptions(), dir, &db_options, &families),
      "reading the options of " + dir));
  ASSIGN_OR_RETURN(rocks::Opened opened, rocks::Open(db_options, dir, families, "the store"));
  absl::Status result;
  for (auto* h : opened.handles) {
    auto s = opened.db->Flush(rocksdb::FlushOptions(), h);
    if (s.ok()) s = opened.db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr);
    if (result.ok()) result = rocks::FromRocks(s, "compacting " + dir);
  }
  opened.guard->Stop();
  for (auto* h : opened.handles) {
    auto s = opened.db->DestroyColumnFamilyHandle(h);
    if (result.ok()) result = rocks::FromRocks(s, "closing " + dir);
  }
  if (result.ok()) result = rocks::FromRocks(opened.db->Close(), "closing " + dir);
  return result;
}

void Emit(const std::string& key, const std::string& value) {
  std::cout << key << "=" << value << std::endl;
}
void Emit(const std::string& key, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  Emit(key, std::string(buf));
}
void Emit(const std::string& key, uint64_t value) { Emit(key, std::to_string(value)); }

absl::StatusOr<BenchKeys> OpenBenchKeys(const std::string& dir, bool read_only) {
  BenchKeys keys;
  if (dir.empty()) return keys;
  privacy::VaultOptions vo;
  vo.path = dir;
  vo.master.bytes.fill(0x5b);
  vo.sync = false;
  vo.read_only = read_only;
  auto vault = privacy::Vault::Open(vo);
  if (!vault.ok()) return vault.status();
  keys.vault = std::move(*vault);
  keys.cache = std::make_unique<privacy::KeyCache>(keys.vault.get());
  return keys;
}

}  // namespace threadline::bench
