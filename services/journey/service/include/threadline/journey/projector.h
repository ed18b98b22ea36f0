#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"
#include "threadline/common/clock.h"
#include "threadline/common/histogram.h"
#include "threadline/common/store_health.h"
#include "threadline/domain/topics.h"
#include "threadline/server/stream.h"
#include "threadline/v1/journey.pb.h"

namespace threadline::privacy {
class KeySource;
}  // namespace threadline::privacy

namespace threadline::journey {

// The projector consumes domain::DepartmentTopics() (and, with a key source,
// domain::kPrivacyTopic), republishes to domain::kJourneyTopic and parks
// messages it cannot read, untouched, on domain::kDeadLetterTopic with
// headers saying why and where they came from.

struct ProjectorOptions {
  // Directory of the projection's RocksDB; created if missing.
  std::string path;
  // Messages taken per poll and written in one WriteBatch. Default: 2000.
  size_t batch_size = 2000;
  // How long one poll waits for the first message. Default: 100 ms.
  std::chrono::milliseconds poll_wait{100};
  // Clock for time-dependent parts of the card (at risk, overdue).
  const Clock* clock = nullptr;
  // Publish every new entry to domain::kJourneyTopic. Default: true.
  bool publish = true;
  // Who parks dead letters (header deadletter_instance), so that an
  // operator can tell which replica parked what. Default: the host name
  // (the pod name on Kubernetes).
  std::string instance;
  // Customers' data keys (docs/privacy.md). With one, the projector keeps
  // cards and timeline entries sealed under each customer's key, blinds its
  // search index, opens what it answers with, parks an event whose sealed
  // field does not open, and consumes domain::kPrivacyTopic to forget
  // erased customers. Default: null (nothing sealed, as builds before
  // sealing). Borrowed; must outlive the projector.
  privacy::KeySource* keys = nullptr;
  // The largest journey update published to domain::kJourneyTopic; a
  // larger one is parked on domain::kDeadLetterTopic instead, with its
  // reason, and never sent again. Default: 1,000,000 bytes (Kafka's default
  // max.message.bytes, less room for the key and headers).
  size_t max_update_bytes = 1000 * 1000;
};

struct ProjectorStats {
  uint64_t consumed = 0;               // messages read from the bus
  uint64_t projected = 0;              // new timeline entries
  uint64_t duplicates = 0;             // dropped by event_id
  uint64_t dead_lettered = 0;          // undecodable messages parked
  uint64_t refolds = 0;                // cards rebuilt for late events
  uint64_t erasures = 0;               // CustomerErased events applied
  uint64_t sequence = 0;               // last journey sequence number
  uint64_t published_sequence = 0;     // last sequence confirmed on domain::kJourneyTopic
  uint64_t updates_dead_lettered = 0;  // updates too large for domain::kJourneyTopic, parked
  uint64_t subscribers = 0;            // subscriptions open now
  // recorded_at of each projected event to its commit in the projection:
  // what an agent waits for a department's change to show on the card.
  HistogramSnapshot end_to_end;
  // Projected events by payload type ("SlaBreached", ...): business rates
  // (SLA breaches, cancellations) for dashboards and alerts.
  std::map<std::string, uint64_t> projected_by_type;
  // Next offset of every department partition (consumer lag = end - this).
  std::map<bus::TopicPartition, int64_t> next_offsets;
  // Whether the journey store accepts writes (it does not while its disk is
  // full; projecting resumes by itself once it does).
  StoreHealth store;
};

// Consumes every department topic into one timeline and one context card per
// customer, in one RocksDB WriteBatch per poll together with the consumed
// offsets and a de-duplication record per event_id, so a crash at any point
// neither loses nor doubles an entry.
//
// Owns a consumer thread between Start() and Stop(). Queries and Subscribe
// are thread-safe. The bus must outlive the projector.
class Projector {
 public:
  static absl::StatusOr<std::unique_ptr<Projector>> Open(const ProjectorOptions& options,
                                                         bus::Bus* bus);
  virtual ~Projector() = default;

  [[nodiscard]] virtual absl::Status Start() = 0;
  virtual void Stop() = 0;

  // Consumes until every department partition has reached the end offsets
  // seen at the call (a rebuild), reporting progress as (done, total).
  [[nodiscard]] virtual absl::Status CatchUp(
      const std::function<void(uint64_t done, uint64_t total)>& progress) = 0;
  // True once the projector has reached the end offsets seen at Start().
  virtual bool CaughtUp() const = 0;

  virtual absl::StatusOr<v1::GetTimelineResponse> GetTimeline(
      const v1::GetTimelineRequest& request) = 0;
  virtual absl::StatusOr<v1::CustomerContext> GetCustomerContext(
      const std::string& customer_id) = 0;
  virtual absl::StatusOr<v1::FindCustomerResponse> FindCustomer(
      const v1::FindCustomerRequest& request) = 0;
  // Everything the journey holds about a customer (GDPR Art. 15/20): the
  // card and every stored event, opened, in timeline order. NOT_FOUND for a
  // customer without a journey; for an erased one the card says erased and
  // the events keep no personal data.
  virtual absl::StatusOr<v1::CustomerDataExport> ExportCustomer(const std::string& customer_id) = 0;

  // Updates after `resume_token` (empty: from now) for the given customers
  // (empty: all), each with the customer's card, pulled one at a time: what
  // a gRPC stream serves without a thread of its own. After Next says
  // kWait, `wake` is called once there may be more. Next ends with
  // RESOURCE_EXHAUSTED if the subscriber falls more than `max_lag` updates
  // behind, and with UNAVAILABLE once the projector stops. INVALID_ARGUMENT
  // for a bad request. The subscription must go before the projector.
  virtual absl::StatusOr<std::unique_ptr<server::StreamSource<v1::JourneyUpdate>>> OpenSubscription(
      const v1::SubscribeJourneyRequest& request, uint64_t max_lag, server::StreamWake wake) = 0;

  // The same, read on the calling thread until `on_update` returns false,
  // `cancelled` returns true (asked at least every 200 ms) or the projector
  // stops.
  virtual absl::Status Subscribe(const v1::SubscribeJourneyRequest& request,
                                 const std::function<bool(const v1::JourneyUpdate&)>& on_update,
                                 const std::function<bool()>& cancelled, uint64_t max_lag) = 0;

  // Every customer's timeline (without sequence numbers) and card, in key
  // order: equal for a live projection and a rebuild of the same events.
  // With `customers`, only theirs (for a broker other tests also write to).
  virtual absl::StatusOr<std::string> Fingerprint(const std::set<std::string>& customers) = 0;

  virtual ProjectorStats Stats() const = 0;
};

}  // namespace threadline::journey
