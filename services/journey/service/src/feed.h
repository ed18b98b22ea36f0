#pragma once

// The journey feed: every timeline entry under its journey sequence number
// (the feed family, written with the batch that made the entry), and the
// subscriptions that follow it from a resume token.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "store.h"
#include "threadline/server/stream.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::journey {

// Makes a stored update readable for a subscriber: opens its entry and adds
// the customer's card (personal.h). An error ends the subscription.
using RevealFn = std::function<absl::Status(v1::JourneyUpdate& update)>;

class FeedSubscription;

// Thread-safe: the projector advances it, any number of subscriptions read
// it. The store must outlive it, and it must outlive its subscriptions.
class Feed {
 public:
  Feed(const JourneyStore& store, uint64_t sequence) : store_(store), sequence_(sequence) {}

  // The last sequence number committed.
  uint64_t sequence() const;
  // Entries up to `sequence` are committed: wakes the waiting subscriptions.
  void Advance(uint64_t sequence);
  // While open, subscriptions wait for new entries; once closed they end
  // with UNAVAILABLE after reading what is there.
  void Open();
  void Close();
  // Subscriptions open now.
  uint64_t subscribers() const { return subscribers_.load(std::memory_order_relaxed); }

  // A subscription to the updates after `request.resume_token()` (empty:
  // from now) for the request's customers (empty: all), each through
  // `reveal`.
  // It holds no thread: Next returns one update at a time, or kWait when
  // there is none yet, and then `wake` is called once there may be (by the
  // thread that advances or closes the feed, under the feed's lock: `wake`
  // must only schedule a Next, never call one). Next ends with
  // RESOURCE_EXHAUSTED when the subscriber falls more than `max_lag` updates
  // behind. INVALID_ARGUMENT here for a bad request.
  absl::StatusOr<std::unique_ptr<server::StreamSource<v1::JourneyUpdate>>> Subscribe(
      const v1::SubscribeJourneyRequest& request, uint64_t max_lag, RevealFn reveal,
      server::StreamWake wake);

  // The same, read on the calling thread until `on_update` returns false,
  // `cancelled` is true (asked at least every 200 ms) or the feed closes.
  absl::Status Subscribe(const v1::SubscribeJourneyRequest& request,
                         const std::function<bool(const v1::JourneyUpdate&)>& on_update,
                         const std::function<bool()>& cancelled, uint64_t max_lag,
                         const RevealFn& reveal);

 private:
  friend class FeedSubscription;

  const JourneyStore& store_;
  mutable std::mutex mu_;
  uint64_t sequence_;                    // guarded by mu_
  bool open_ = false;                    // guarded by mu_
  std::set<FeedSubscription*> waiting_;  // guarded by mu_: woken by the next Advance
  std::atomic<uint64_t> subscribers_{0};
};

}  // namespace threadline::journey
