#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"

namespace threadline::bus {

struct EmbeddedBusOptions {
  // Directory of the RocksDB database holding every topic; created if missing.
  std::string path;
  // fsync before a delivery report. Default: true, so that a message the
  // outbox saw delivered survives kill -9 and power loss alike; messages
  // published together share one fsync.
  bool sync = true;
};

// A bus for a single process: topics are RocksDB key ranges
// (topic, partition, offset) with the same partitioning, ordering, offsets
// and delivery reports as Kafka. Thread-safe; publishers and consumers it
// creates must be destroyed before it.
absl::StatusOr<std::unique_ptr<Bus>> OpenEmbeddedBus(const EmbeddedBusOptions& options);

}  // namespace threadline::bus
