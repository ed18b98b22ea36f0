#pragma once

// Republishing the journey on domain::kJourneyTopic: every committed entry goes out,
// and the "m/pub" cursor (keyspace.h) moves only over entries whose delivery
// the bus confirmed, so a restart or a failed delivery sends again what may
// be missing (consumers of the topic drop duplicates by event_id).

#include <cstdint>
#include <mutex>

#include "store.h"
#include "threadline/bus/bus.h"
#include "threadline/bus/delivered_watermark.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// Thread-safe (delivery reports arrive on a bus thread). `publisher` may be
// null: nothing is published and the cursor stays. The store and the
// publisher must outlive it.
class JourneyTopic {
 public:
  JourneyTopic(JourneyStore& store, bus::Publisher* publisher, uint64_t published)
      : store_(store), publisher_(publisher), published_(published), saved_(published) {}

  void Publish(const v1::JourneyUpdate& update);
  // Publishes again every stored feed entry after the cursor.
  void RepublishUnconfirmed();
  // Saves the cursor if it moved; after a failed delivery, waits for the
  // outstanding reports and re-publishes from the cursor.
  void Save();
  // Every sequence up to here is on the topic.
  uint64_t published() const;

 private:
  JourneyStore& store_;
  bus::Publisher* publisher_;
  mutable std::mutex mu_;
  bus::DeliveredWatermark published_;  // guarded by mu_
  uint64_t saved_;                     // guarded by mu_
  bool failed_ = false;                // guarded by mu_
};

}  // namespace threadline::journey
