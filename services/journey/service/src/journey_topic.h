#pragma once

// Republishing the journey on domain::kJourneyTopic: every committed entry goes out,
// and the "m/pub" cursor (keyspace.h) moves only over entries whose delivery
// the bus confirmed, so a restart or a failed delivery sends again what may
// be missing (consumers of the topic drop duplicates by event_id).
//
// An update the topic cannot take (larger than the limit, or refused by
// the broker as too large) is never sent again: it is logged, counted and
// parked on domain::kDeadLetterTopic with its reason, and the cursor moves
// past it once the dead letter is delivered.

#include <cstdint>
#include <mutex>

#include "dead_letters.h"
#include "store.h"
#include "threadline/bus/bus.h"
#include "threadline/bus/delivered_watermark.h"
#include "threadline/common/log.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// Thread-safe (delivery reports arrive on a bus thread). `publisher` may be
// null: nothing is published and the cursor stays. The store and the
// publisher must outlive it.
class JourneyTopic {
 public:
  JourneyTopic(JourneyStore& store, bus::Publisher* publisher, DeadLetters* dead_letters,
               uint64_t published, size_t max_update_bytes)
      : store_(store),
        publisher_(publisher),
        dead_letters_(dead_letters),
        max_update_bytes_(max_update_bytes),
        published_(published),
        saved_(published) {}

  void Publish(const v1::JourneyUpdate& update);
  // Publishes again every stored feed entry after the cursor.
  void RepublishUnconfirmed();
  // Saves the cursor if it moved; after a failed delivery, waits for the
  // outstanding reports and re-publishes from the cursor.
  void Save();
  // Every sequence up to here is on the topic (or, too large, parked).
  uint64_t published() const;
  // Updates parked because the topic cannot take them.
  uint64_t dead_lettered() const;

 private:
  void Park(const v1::JourneyUpdate& update, const std::string& reason);
  // Park() for the update stored in the feed under `sequence`.
  void ParkStored(uint64_t sequence, const std::string& reason);

  JourneyStore& store_;
  bus::Publisher* publisher_;
  DeadLetters* dead_letters_;
  const size_t max_update_bytes_;
  LogEvery park_log_{std::chrono::seconds(5)};
  Logger log_{"journey.topic"};
  mutable std::mutex mu_;
  bus::DeliveredWatermark published_;  // guarded by mu_
  uint64_t saved_;                     // guarded by mu_
  bool failed_ = false;                // guarded by mu_
  uint64_t dead_lettered_ = 0;         // guarded by mu_
};

}  // namespace threadline::journey
