#pragma once

// Prometheus metrics over HTTP (GET /metrics on their own port). Components
// keep plain stats structs and know nothing of Prometheus; the exporter
// reads them when Prometheus scrapes, so an idle process does no metrics
// work and no component carries prometheus-cpp types.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/common/disk.h"
#include "threadline/common/histogram.h"
#include "threadline/common/store_health.h"
#include "threadline/outbox/relay.h"
#include "threadline/server/stats.h"

namespace threadline::metrics {

// One department service in this process.
struct DepartmentSample {
  std::string department;  // "sales"
  outbox::RelayStats relay;
  HistogramSnapshot append_latency;
};

// One consumer in one partition. lag = end offset - next offset.
struct ConsumerSample {
  std::string consumer;  // "journey", "installation.reactions", ...
  std::string topic;
  int32_t partition = 0;
  int64_t lag = 0;
};

// Counters of one consumer that are not per partition.
struct ConsumerTotals {
  std::string consumer;
  uint64_t duplicates = 0;  // messages dropped or absorbed as already applied
  uint64_t errors = 0;      // failed batches, retried
  // Messages skipped as invalid: not a valid envelope, or a sealed field
  // that did not open (the journey parks these instead: dead_lettered).
  uint64_t invalid = 0;
};

// This process's cache of customers' data keys.
struct KeyCacheSample {
  uint64_t keys = 0;  // held in memory now
  // Customers forgotten because their CustomerErased reached this process
  // on the privacy topic (processes that fetch keys from another one).
  std::optional<uint64_t> erasures_heard;
};

// The journey projector, when this process runs it.
struct JourneySample {
  uint64_t projected = 0;
  uint64_t dead_lettered = 0;
  uint64_t subscribers = 0;
  HistogramSnapshot end_to_end;
  // Projected events by payload type ("SlaBreached", ...).
  std::vector<std::pair<std::string, uint64_t>> events_by_type;
  uint64_t updates_dead_lettered = 0;  // too large for the journey topic, parked
};

// One RocksDB store of this process.
struct StoreSample {
  std::string store;  // "sales", ..., "bus" (the embedded bus), "journey"
  StoreHealth health;
};

// The policy this process runs with, and what its reloads did.
struct PolicySample {
  std::string digest;              // policy::Policy::digest() of the policy in force
  uint64_t reloads_applied = 0;    // put a file with another digest in force
  uint64_t reloads_unchanged = 0;  // found the digest in force
  uint64_t reloads_refused = 0;    // refused a file; the policy in force stayed
};

// Everything but the gRPC stats, taken at scrape time.
struct SuiteSample {
  std::vector<DepartmentSample> departments;
  std::vector<ConsumerSample> consumers;
  std::vector<ConsumerTotals> consumer_totals;
  std::optional<JourneySample> journey;
  std::optional<KeyCacheSample> key_cache;
  // Health of each gRPC service by full name, as the health service says.
  std::vector<std::pair<std::string, bool>> serving;
  // Whether the last look at the bus (end offsets) succeeded.
  bool bus_reachable = true;
  std::vector<StoreSample> stores;
  // The filesystem of the data directory, when statvfs could read it.
  std::optional<DiskSpace> data_dir;
  std::optional<PolicySample> policy;
};

struct ExporterOptions {
  // host:port to serve /metrics on; port 0 picks a free port (see port()).
  // Default: 127.0.0.1:9464 (Prometheus' usual exporter port, loopback).
  std::string listen = "127.0.0.1:9464";
};

// Serves the metrics of one process. `server` and `sample` are borrowed and
// read on the HTTP server's threads at every scrape: `server` must outlive
// the exporter and `sample` must be thread-safe. Stop (or destroy) the
// exporter before what it reads.
class Exporter {
 public:
  // UNAVAILABLE naming the address when it cannot listen.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Exporter>> Start(
      const ExporterOptions& options, const server::ServerStats* server,
      std::function<SuiteSample()> sample);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // The port actually bound.
  int port() const;
  // Stops serving; idempotent.
  void Stop();

  // The exposition text the exporter would serve now (for tests and
  // debugging without HTTP).
  std::string Render() const;

 private:
  struct Impl;
  explicit Exporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace threadline::metrics
