#pragma once

#include <cstdint>
#include <set>

namespace threadline::bus {

// The highest position below which every published message has its
// successful delivery report, from reports that may come out of order
// (messages of different partitions). A producer saves it as the cursor it
// re-publishes from after a crash or a failed delivery.
//
// Not thread-safe: delivery callbacks and readers hold the owner's lock.
class DeliveredWatermark {
 public:
  explicit DeliveredWatermark(uint64_t watermark = 0) : watermark_(watermark) {}

  // Records that `position` is delivered. Positions at or below the
  // watermark are ignored (a re-publish delivered twice).
  void Delivered(uint64_t position);
  // Every position up to here is delivered.
  uint64_t value() const { return watermark_; }
  // Forgets the deliveries above the watermark, before re-publishing from it.
  void ForgetAhead() { ahead_.clear(); }

 private:
  uint64_t watermark_;
  std::set<uint64_t> ahead_;  // delivered, above the watermark
};

}  // namespace threadline::bus
