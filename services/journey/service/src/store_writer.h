#pragma once

// The store writer: one polled batch into the journey store, in one
// WriteBatch together with the consumed offsets, so a crash at any point
// neither loses nor doubles an entry.

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store.h"
#include "threadline/bus/offset_consumer.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// Per event: a de-duplication record (seen), and for an event of a known
// customer its envelope, timeline entry, feed entry and search entries; per
// customer its card, folded in timeline order (projection.h). One writer per
// batch, used by one thread; nothing is visible before Commit().
class StoreWriter {
 public:
  // `sequence`: the last journey sequence number before this batch.
  StoreWriter(JourneyStore& store, uint64_t sequence) : store_(store), sequence_(sequence) {}

  enum class Added {
    kDuplicate,  // its event_id was seen before: nothing written
    kSeenOnly,   // no customer (a missed call from an unknown number): only recorded as seen
    kProjected,  // a new timeline entry
  };
  absl::StatusOr<Added> Add(const v1::EventEnvelope& event);

  // Folds the late customers' cards, then writes everything with `next`
  // (the consumed offsets) and the new journey sequence in one write.
  [[nodiscard]] absl::Status Commit(const bus::Offsets& next);

  // The last journey sequence number, this batch's entries included.
  uint64_t sequence() const { return sequence_ + updates_.size(); }
  // The batch's updates in sequence order, for the feed's subscribers and
  // the journey topic.
  const std::vector<v1::JourneyUpdate>& updates() const { return updates_; }
  // Cards folded again from the start because an event arrived late.
  uint64_t refolds() const { return refolds_; }

 private:
  absl::StatusOr<bool> Seen(const std::string& event_id);
  absl::StatusOr<v1::CustomerContext*> Card(const std::string& customer);
  absl::StatusOr<std::string> LastOrder(const std::string& customer);
  absl::Status Refold(const std::string& customer, v1::CustomerContext& card);

  JourneyStore& store_;
  const uint64_t sequence_;
  rocksdb::WriteBatch batch_;
  std::set<std::string> seen_;
  std::map<std::string, v1::CustomerContext> cards_;
  std::map<std::string, std::string> last_order_;  // customer -> last order folded
  std::map<std::string, std::map<std::string, std::string>> envelopes_;  // staged, by order
  // Customers with an event that sorts before one already applied: their
  // card is folded again once, at the end of the batch, instead of once
  // per late event. A rebuild reads four topics whose partitions drift
  // apart in time, so most events of a customer arrive "late"; folding per
  // event made replay quadratic in a customer's history.
  std::set<std::string> refold_;
  std::vector<v1::JourneyUpdate> updates_;
  uint64_t refolds_ = 0;
};

}  // namespace threadline::journey
