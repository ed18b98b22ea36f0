#pragma once

// The journey feed: every timeline entry under its journey sequence number
// (the feed family, written with the batch that made the entry), and the
// subscriptions that follow it from a resume token.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "store.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// Makes a stored update readable for a subscriber: opens its entry and adds
// the customer's card (personal.h). An error ends the subscription.
using RevealFn = std::function<absl::Status(v1::JourneyUpdate& update)>;

// Thread-safe: the projector advances it, any number of threads subscribe.
// The store must outlive it.
class Feed {
 public:
  Feed(const JourneyStore& store, uint64_t sequence) : store_(store), sequence_(sequence) {}

  // The last sequence number committed.
  uint64_t sequence() const;
  // Entries up to `sequence` are committed: wakes the subscribers.
  void Advance(uint64_t sequence);
  // While open, subscribers wait for new entries; once closed they end with
  // UNAVAILABLE after reading what is there.
  void Open();
  void Close();
  // Subscribe calls running now.
  uint64_t subscribers() const { return subscribers_.load(std::memory_order_relaxed); }

  // Updates after `request.resume_token()` (empty: from now) for the
  // request's customers (empty: all), each through `reveal`, until `on_update`
  // returns false, `cancelled` is true or the feed closes. RESOURCE_EXHAUSTED
  // if the subscriber falls more than `max_lag` updates behind.
  absl::Status Subscribe(const v1::SubscribeJourneyRequest& request,
                         const std::function<bool(const v1::JourneyUpdate&)>& on_update,
                         const std::function<bool()>& cancelled, uint64_t max_lag,
                         const RevealFn& reveal);

 private:
  const JourneyStore& store_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t sequence_;  // guarded by mu_
  bool open_ = false;  // guarded by mu_
  std::atomic<uint64_t> subscribers_{0};
};

}  // namespace threadline::journey
