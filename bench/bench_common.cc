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
  rocksdb::ConfigOptions config;
  auto s = rocksdb::LoadLatestOptions(config, dir, &db_options, &families);
  if (!s.ok()) return absl::InternalError("options of " + dir + ": " + s.ToString());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::Open(db_options, dir, families, &handles, &raw);
  if (!s.ok()) return absl::InternalError("open " + dir + ": " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  absl::Status result;
  for (auto* h : handles) {
    s = db->Flush(rocksdb::FlushOptions(), h);
    if (s.ok()) s = db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr);
    if (!s.ok() && result.ok())
      result = absl::InternalError("compact " + dir + ": " + s.ToString());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
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

}  // namespace threadline::bench
