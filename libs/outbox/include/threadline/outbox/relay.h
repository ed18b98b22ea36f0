#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "threadline/bus/bus.h"
#include "threadline/bus/delivered_watermark.h"
#include "threadline/eventstore/event_store.h"

namespace threadline::outbox {

// Kafka headers set on every published event.
inline constexpr char kHeaderEventType[] = "event_type";
inline constexpr char kHeaderSchemaVersion[] = "schema_version";
inline constexpr char kHeaderEventId[] = "event_id";

// The bus message for a stored event: key customer_id, value the envelope.
bus::OutMessage ToMessage(const v1::EventEnvelope& envelope, const std::string& topic);

struct RelayOptions {
  // Name of the cursor in the store. Default: "bus".
  std::string cursor_name = "bus";
  // Topic every event goes to. Default: none (required).
  std::string topic;
  // Events read from the store per batch. Default: 1000.
  size_t batch_size = 1000;
  // Published but not yet acknowledged events before the relay waits.
  // Default: 20000.
  size_t max_in_flight = 20000;
  // How long to wait for an append notification before looking again;
  // a safety net, appends wake the relay at once. Default: 500 ms.
  std::chrono::milliseconds idle_wait{500};
  // Pause after a failed delivery before re-publishing. Default: 500 ms.
  std::chrono::milliseconds retry_backoff{500};
};

struct RelayStats {
  uint64_t published = 0;      // publish calls, re-publishes included
  uint64_t delivered = 0;      // successful delivery reports
  uint64_t failures = 0;       // failed delivery reports
  uint64_t cursor = 0;         // every event up to here is on the bus
  uint64_t last_position = 0;  // last event in the store
};

// Publishes a store's events in global order and moves the store's outbox
// cursor only over events whose delivery the bus confirmed, so nothing
// acknowledged to a client is lost: after a crash or a failed delivery it
// re-publishes from the cursor and consumers drop duplicates by event_id.
//
// Owns one thread between Start() and Stop(). The store and the publisher
// must outlive it. Stats() is thread-safe.
class OutboxRelay {
 public:
  OutboxRelay(eventstore::EventStore* store, bus::Publisher* publisher, RelayOptions options);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  [[nodiscard]] absl::Status Start();
  // Stops reading new events, waits up to `drain` for outstanding deliveries
  // and saves the cursor.
  void Stop(std::chrono::milliseconds drain = std::chrono::seconds(10));
  RelayStats Stats() const;

 private:
  void Run();
  void OnDelivered(uint64_t position, const absl::Status& status);
  void SaveCursor();

  eventstore::EventStore* store_;
  bus::Publisher* publisher_;
  RelayOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool wake_ = false;
  bus::DeliveredWatermark watermark_;  // every position up to it is on the bus
  uint64_t saved_watermark_ = 0;
  uint64_t in_flight_ = 0;
  bool failed_ = false;
  uint64_t epoch_ = 0;  // bumps on every re-publish
  RelayStats stats_;
  std::thread thread_;
};

}  // namespace threadline::outbox
