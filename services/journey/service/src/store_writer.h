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
#include "personal.h"
#include "store.h"
#include "threadline/bus/offset_consumer.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// Per event: a de-duplication record (seen), and for an event of a known
// customer its envelope, timeline entry, feed entry and search entries; per
// customer its card, folded in timeline order (projection.h). One writer per
// batch, used by one thread; nothing is visible before Commit().
//
// With a key source (personal.h) the card and entries are stored sealed and
// folded from opened copies of the events, and a CustomerErased makes the
// batch forget the customer's personal data (Erase below).
class StoreWriter {
 public:
  // `sequence`: the last journey sequence number before this batch. `keys`
  // may be null (nothing sealed); it must outlive the writer.
  StoreWriter(JourneyStore& store, uint64_t sequence, privacy::KeySource* keys)
      : store_(store), sequence_(sequence), personal_(keys) {}

  enum class Added {
    kDuplicate,   // its event_id was seen before: nothing written
    kSeenOnly,    // no customer (a missed call from an unknown number): only recorded as seen
    kProjected,   // a new timeline entry
    kUnreadable,  // a sealed field does not open: nothing written, `*unreadable` says why
  };
  absl::StatusOr<Added> Add(const v1::EventEnvelope& event, std::string* unreadable);

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
  // Customers whose erasure this batch applied.
  uint64_t erasures() const { return erase_.size(); }

 private:
  absl::StatusOr<bool> Seen(const std::string& event_id);
  absl::StatusOr<v1::CustomerContext*> Card(const std::string& customer);
  absl::StatusOr<std::string> LastOrder(const std::string& customer);
  absl::Status Refold(const std::string& customer, v1::CustomerContext& card);
  // An erased customer: every stored and staged envelope, entry and feed
  // entry of theirs is written again without personal data, their search
  // entries are deleted and their card is folded again (and stored marked
  // erased). The same store a rebuild after the erasure writes.
  absl::Status Erase(const std::string& customer);

  JourneyStore& store_;
  const uint64_t sequence_;
  Personal personal_;
  rocksdb::WriteBatch batch_;
  std::set<std::string> seen_;
  std::map<std::string, v1::CustomerContext> cards_;  // opened; read, or changed
  std::set<std::string> changed_;                     // cards to write
  std::map<std::string, std::string> last_order_;     // customer -> last order folded
  std::map<std::string, std::map<std::string, std::string>> envelopes_;  // staged, by order
  // Customers with an event that sorts before one already applied: their
  // card is folded again once, at the end of the batch, instead of once
  // per late event. A rebuild reads four topics whose partitions drift
  // apart in time, so most events of a customer arrive "late"; folding per
  // event made replay quadratic in a customer's history.
  std::set<std::string> refold_;
  std::vector<v1::JourneyUpdate> updates_;
  std::map<std::string, size_t> staged_updates_;                   // timeline key -> its update
  std::map<std::string, std::vector<std::string>> staged_search_;  // customer -> entries
  std::set<std::string> erase_;  // customers with a CustomerErased in this batch
  uint64_t refolds_ = 0;
};

}  // namespace threadline::journey
