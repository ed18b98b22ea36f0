#pragma once

// The message bus: topics of keyed messages split into partitions, with
// per-partition order. Two implementations share these interfaces:
// Kafka (librdkafka) for distributed deployments and an embedded RocksDB
// log for a single process. Consumers never commit offsets to the bus: they
// assign partitions, seek to offsets they stored themselves (in the same
// RocksDB WriteBatch as the state those messages produced) and poll batches.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/common/store_health.h"

namespace threadline::bus {

struct Header {
  std::string key;
  std::string value;
  bool operator==(const Header&) const = default;
};

// A message to publish. The partition is chosen from `key` with the
// Java-compatible murmur2 partitioner, so one customer's messages share a
// partition number in every topic.
struct OutMessage {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<Header> headers;
};

// A consumed message.
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<Header> headers;
  int64_t timestamp_ms = 0;

  // The value of the first header named `name`, or empty.
  std::string HeaderValue(std::string_view name) const;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// Where to start reading a partition: the offset of the next message wanted.
struct PartitionStart {
  TopicPartition tp;
  int64_t offset = 0;
};

// Called exactly once per published message, from a bus thread, once the
// message is durable on the bus (delivery report) or has failed for good.
// Callbacks for one partition come in publish order.
using DeliveryCallback =
    std::function<void(const absl::Status& status, int32_t partition, int64_t offset)>;

// Publishes messages. Thread-safe. Destroying it waits for outstanding
// deliveries up to the implementation's flush timeout.
class Publisher {
 public:
  virtual ~Publisher() = default;
  // Enqueues `message`; `done` reports the outcome. A non-OK return means
  // the message was not enqueued and `done` will not be called.
  [[nodiscard]] virtual absl::Status Publish(OutMessage message, DeliveryCallback done) = 0;
  // Waits until every enqueued message has its delivery callback.
  [[nodiscard]] virtual absl::Status Flush(std::chrono::milliseconds timeout) = 0;
};

// Reads assigned partitions. Not thread-safe: one thread polls.
class Consumer {
 public:
  virtual ~Consumer() = default;
  // Replaces the assignment; each partition starts at its given offset.
  [[nodiscard]] virtual absl::Status Assign(const std::vector<PartitionStart>& starts) = 0;
  // Returns up to `max_messages` messages, waiting at most `timeout` for the
  // first one. An empty result is not an error.
  virtual absl::StatusOr<std::vector<Message>> Poll(size_t max_messages,
                                                    std::chrono::milliseconds timeout) = 0;
  // Interrupts a Poll() in progress (from any thread); it returns early.
  virtual void Wake() = 0;
};

struct TopicSpec {
  TopicSpec(std::string name, int32_t partitions = 6,
            std::map<std::string, std::string> configs = {})
      : name(std::move(name)), partitions(partitions), configs(std::move(configs)) {}

  std::string name;
  int32_t partitions = 6;
  // Settings a topic gets when it is created (Kafka topic configs such as
  // retention.ms); a topic that exists keeps its own. The embedded bus keeps
  // every message forever and takes none.
  std::map<std::string, std::string> configs;
};

// A bus connection: creates topics, publishers and consumers. Thread-safe;
// must outlive everything it created.
class Bus {
 public:
  virtual ~Bus() = default;
  // Creates the topics that do not exist yet; existing ones are left alone.
  [[nodiscard]] virtual absl::Status EnsureTopics(const std::vector<TopicSpec>& topics) = 0;
  virtual absl::StatusOr<int32_t> PartitionCount(const std::string& topic) = 0;
  virtual absl::StatusOr<std::unique_ptr<Publisher>> NewPublisher() = 0;
  virtual absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer() = 0;
  // Offset one past the last message of each partition of `topic`.
  virtual absl::StatusOr<std::vector<int64_t>> EndOffsets(const std::string& topic) = 0;
  // The settings `topic` has in effect (its own, or the broker's defaults),
  // by name; empty for a bus without any (the embedded bus).
  virtual absl::StatusOr<std::map<std::string, std::string>> TopicConfigs(
      const std::string& topic) {
    return std::map<std::string, std::string>();
  }
  // Whether the bus's own store on this machine accepts writes: the
  // embedded bus's RocksDB; none (nullopt) for Kafka.
  virtual std::optional<StoreHealth> LocalStoreHealth() const { return std::nullopt; }
};

// FAILED_PRECONDITION unless every topic of `topics` exists with the same
// partition count: messages with one key then land on one partition number
// in each, which consumers that join them by partition rely on. The message
// names two topics that differ and their counts.
absl::Status CheckSamePartitions(Bus& bus, const std::vector<std::string>& topics);

// Java-compatible murmur2 (Kafka's Utils.murmur2 / DefaultPartitioner): the
// partition for a non-empty key is toPositive(murmur2(key)) % partitions.
int32_t PartitionForKey(std::string_view key, int32_t partitions);
uint32_t Murmur2(std::string_view data);

}  // namespace threadline::bus
