#pragma once

// The Kafka implementation of the bus (librdkafka underneath; no rdkafka
// type leaks out of this header). See libs/bus/README.md for the settings
// chosen and why.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"

namespace threadline::bus {

struct KafkaOptions {
  // Bootstrap servers, "host:port[,host:port...]". Required; no default.
  std::string brokers;
  // client.id seen in broker logs and quotas; publishers and consumers append
  // "-producer-N" / "-consumer-N". Default: "threadline".
  std::string client_id = "threadline";
  // Passed verbatim to librdkafka for every handle, after (and so overriding)
  // the adapter's own settings: security.protocol, ssl.*, sasl.*,
  // debug, ... Default: empty.
  std::map<std::string, std::string> extra;
  // Producer linger.ms: how long a message may wait for others to share its
  // batch. Default: 0 ms. The relay already hands over a group commit's
  // events in one burst and librdkafka batches whatever queues while earlier
  // requests are in flight, so waiting only added latency: 5 ms put the
  // command -> journey p50 at ~8 ms instead of ~1 ms, with no measurable
  // gain in commands/s (docs/performance.md).
  std::chrono::milliseconds linger{0};
  // Deadline of each metadata, admin and offset request made by the Bus
  // itself (EnsureTopics, PartitionCount, EndOffsets, the first Publish to a
  // topic). Default: 10 s.
  std::chrono::milliseconds request_timeout{10000};
  // How long destroying a Publisher waits for outstanding deliveries before
  // failing them. Default: 10 s.
  std::chrono::milliseconds close_timeout{10000};
  // Replication factor of topics created by EnsureTopics; -1 takes the
  // broker's default.replication.factor. Default: -1.
  int32_t replication_factor = -1;
};

// Connects lazily: a wrong address shows up as UNAVAILABLE on the first
// request, a wrong setting as INVALID_ARGUMENT here. Partition counts are
// read once per topic and cached for the Bus's lifetime (Threadline never
// adds partitions to a live topic: that would move customers to other
// partitions). Thread-safe; must outlive the publishers and consumers it
// creates.
absl::StatusOr<std::unique_ptr<Bus>> OpenKafkaBus(const KafkaOptions& options);

}  // namespace threadline::bus
