// The journey projector: wires the consumer (bus::OffsetConsumer), the
// projection step (projection.h), the store writer, the feed, the journey
// topic and the dead letters together. Where each part lives:
//
//   keyspace.h       every key family, its column family and encoding
//   store.h          opening the RocksDB store; legacy_layout.h converts old ones
//   store_writer.h   one batch: de-duplication, entries, cards, offsets
//   queries.h        timelines and cards
//   search.h         FindCustomer and its index
//   personal.h       personal data sealed at rest, opened for a query, forgotten on erasure
//   feed.h           SubscribeJourney and the feed it reads
//   journey_topic.h  republishing on threadline.journey.v1 and its cursor
//   dead_letters.h   parking what cannot be read
//   fingerprint.h    the digest that compares a rebuild with the live store

#include "threadline/journey/projector.h"

#include <unistd.h>

#include <atomic>
#include <map>

#include "dead_letters.h"
#include "feed.h"
#include "fingerprint.h"
#include "journey_topic.h"
#include "personal.h"
#include "queries.h"
#include "search.h"
#include "store.h"
#include "store_writer.h"
#include "threadline/bus/offset_consumer.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"
#include "threadline/journey/projection.h"
#include "threadline/privacy/keys.h"

namespace threadline::journey {
namespace {

class RocksProjector final : public Projector {
 public:
  RocksProjector(ProjectorOptions options, bus::Bus* bus, std::unique_ptr<JourneyStore> store,
                 uint64_t sequence)
      : options_(std::move(options)),
        bus_(bus),
        store_(std::move(store)),
        feed_(*store_, sequence) {
    clock_ = options_.clock ? options_.clock : &Clock::Real();
    if (options_.instance.empty()) {
      char host[256] = {};
      options_.instance = gethostname(host, sizeof host - 1) == 0 ? host : "journey";
    }
  }

  ~RocksProjector() override { Stop(); }

  absl::Status Init() {
    ASSIGN_OR_RETURN(uint64_t published, store_->Counter(keys::kPublishedKey));
    bus::OffsetConsumerOptions co;
    co.name = "journey";
    co.topics = domain::DepartmentTopics();
    if (options_.keys != nullptr) co.topics.push_back(domain::kPrivacyTopic);
    co.batch_size = options_.batch_size;
    co.poll_wait = options_.poll_wait;
    co.failure = "projection";
    co.log = log_;
    auto load = [this] { return store_->LoadOffsets(); };
    auto apply = [this](const std::vector<bus::Message>& batch, const bus::Offsets& next) {
      return Project(batch, next);
    };
    ASSIGN_OR_RETURN(consumer_, bus::OffsetConsumer::Open(bus_, std::move(co), load, apply));
    if (options_.publish) {
      ASSIGN_OR_RETURN(publisher_, bus_->NewPublisher());
    }
    dead_letters_ = std::make_unique<DeadLetters>(publisher_.get(), options_.instance);
    journey_topic_ = std::make_unique<JourneyTopic>(*store_, publisher_.get(), dead_letters_.get(),
                                                    published, options_.max_update_bytes);
    return absl::OkStatus();
  }

  absl::Status Start() override {
    if (options_.publish) journey_topic_->RepublishUnconfirmed();
    running_ = true;
    feed_.Open();
    consumer_->Start();
    return absl::OkStatus();
  }

  void Stop() override {
    if (!running_.exchange(false)) return;
    consumer_->Stop();
    if (publisher_) publisher_->Flush(std::chrono::seconds(10)).IgnoreError();
    journey_topic_->Save();
    feed_.Close();
  }

  absl::Status CatchUp(const std::function<void(uint64_t, uint64_t)>& progress) override {
    RETURN_IF_ERROR(consumer_->CatchUp(progress));
    if (publisher_) publisher_->Flush(std::chrono::seconds(30)).IgnoreError();
    journey_topic_->Save();
    return absl::OkStatus();
  }

  bool CaughtUp() const override { return consumer_->CaughtUp(); }

  // Every read opens what it answers with, with key lookups of its own
  // (an erasure shows at once).
  absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const v1::GetTimelineRequest& r) override {
    Personal personal(options_.keys);
    return journey::GetTimeline(*store_, r, personal);
  }

  absl::StatusOr<v1::CustomerContext> GetCustomerContext(const std::string& customer) override {
    Personal personal(options_.keys);
    return journey::GetCustomerContext(*store_, customer, clock_->Now(), personal);
  }

  absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const v1::FindCustomerRequest& r) override {
    Personal personal(options_.keys);
    return journey::FindCustomer(*store_, r, personal);
  }

  absl::StatusOr<v1::CustomerDataExport> ExportCustomer(const std::string& customer) override {
    Personal personal(options_.keys);
    return journey::ExportCustomer(*store_, customer, clock_->Now(), personal);
  }

  absl::StatusOr<std::unique_ptr<server::StreamSource<v1::JourneyUpdate>>> OpenSubscription(
      const v1::SubscribeJourneyRequest& r, uint64_t max_lag, server::StreamWake wake) override {
    return feed_.Subscribe(
        r, max_lag, [this](v1::JourneyUpdate& u) { return Reveal(u); }, std::move(wake));
  }

  absl::Status Subscribe(const v1::SubscribeJourneyRequest& r,
                         const std::function<bool(const v1::JourneyUpdate&)>& on_update,
                         const std::function<bool()>& cancelled, uint64_t max_lag) override {
    return feed_.Subscribe(r, on_update, cancelled, max_lag,
                           [this](v1::JourneyUpdate& u) { return Reveal(u); });
  }

  absl::StatusOr<std::string> Fingerprint(const std::set<std::string>& customers) override {
    return journey::Fingerprint(*store_, customers, options_.keys);
  }

  ProjectorStats Stats() const override {
    ProjectorStats s;
    {
      std::lock_guard lock(mu_);
      s = stats_;
    }
    s.sequence = feed_.sequence();
    s.published_sequence = journey_topic_->published();
    s.updates_dead_lettered = journey_topic_->dead_lettered();
    s.subscribers = feed_.subscribers();
    s.end_to_end = end_to_end_.Snapshot();
    s.next_offsets = consumer_->Positions();
    s.store = store_->Health();
    return s;
  }

 private:
  // A feed update as a subscriber sees it: its entry opened, the card added.
  absl::Status Reveal(v1::JourneyUpdate& u) {
    Personal personal(options_.keys);
    RETURN_IF_ERROR(personal.OpenEntry(*u.mutable_entry()));
    auto context =
        journey::GetCustomerContext(*store_, u.entry().customer_id(), clock_->Now(), personal);
    if (context.ok()) *u.mutable_context() = std::move(*context);
    return absl::OkStatus();
  }

  // The consumer's ApplyBatchFn: the batch and its offsets in one write.
  absl::Status Project(const std::vector<bus::Message>& batch, const bus::Offsets& next) {
    StoreWriter writer(*store_, feed_.sequence(), options_.keys);
    uint64_t duplicates = 0, dead = 0;
    std::vector<TimePoint> recorded;  // of events projected, for end-to-end latency
    std::map<std::string, uint64_t> by_type;
    for (const auto& m : batch) {
      v1::EventEnvelope e;
      auto park = [&](const std::string& reason) {
        ++dead;
        if (dead_letter_log_.Allow()) {
          log_.Warn("unreadable event parked",
                    {{"topic", m.topic}, {"offset", m.offset}, {"reason", reason}});
        }
        dead_letters_->Park(m, reason);
      };
      if (std::string reason = DecodeEvent(m.value, e); !reason.empty()) {
        park(reason);
        continue;
      }
      // What the department's store needs to rebuild itself, not the journey.
      e.clear_append_record();
      // A sealed field that does not open (altered, or moved from another
      // event) is parked like any unreadable message, never projected.
      std::string unreadable;
      ASSIGN_OR_RETURN(StoreWriter::Added added, writer.Add(e, &unreadable));
      if (added == StoreWriter::Added::kUnreadable) {
        park(unreadable);
        continue;
      }
      if (added == StoreWriter::Added::kDuplicate) ++duplicates;
      if (added != StoreWriter::Added::kProjected) continue;
      recorded.push_back(domain::FromProto(e.recorded_at()));
      ++by_type[domain::EventType(e)];
    }
    // Parked messages must be on the dead-letter topic before their offsets
    // move past them.
    if (dead > 0) RETURN_IF_ERROR(dead_letters_->Confirm());
    RETURN_IF_ERROR(writer.Commit(next));
    {
      std::lock_guard lock(mu_);
      stats_.consumed += batch.size();
      stats_.projected += writer.updates().size();
      stats_.duplicates += duplicates;
      stats_.dead_lettered += dead;
      stats_.refolds += writer.refolds();
      stats_.erasures += writer.erasures();
      for (const auto& [type, n] : by_type) stats_.projected_by_type[type] += n;
    }
    feed_.Advance(writer.sequence());
    TimePoint now = clock_->Now();
    for (TimePoint t : recorded) end_to_end_.Observe(now - t);
    for (const auto& u : writer.updates()) journey_topic_->Publish(u);
    journey_topic_->Save();
    return absl::OkStatus();
  }

  ProjectorOptions options_;
  bus::Bus* bus_;
  const Clock* clock_;
  std::unique_ptr<JourneyStore> store_;
  Feed feed_;
  std::unique_ptr<JourneyTopic> journey_topic_;
  std::unique_ptr<DeadLetters> dead_letters_;
  // After its users: destroyed first, it delivers its last reports (or
  // their failures) to them while they still exist.
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<bus::OffsetConsumer> consumer_;  // its thread writes to all of the above

  mutable std::mutex mu_;
  ProjectorStats stats_;  // guarded by mu_; the sequence, cursor and offsets come from their owners
  LatencyHistogram end_to_end_;
  std::atomic<bool> running_{false};
  LogEvery dead_letter_log_{std::chrono::seconds(5)};
  Logger log_{"journey.projector"};
};

}  // namespace

absl::StatusOr<std::unique_ptr<Projector>> Projector::Open(const ProjectorOptions& options,
                                                           bus::Bus* bus) {
  ASSIGN_OR_RETURN(auto store, JourneyStore::Open(options.path));
  ASSIGN_OR_RETURN(uint64_t sequence, store->Counter(keys::kSequenceKey));
  auto p = std::make_unique<RocksProjector>(options, bus, std::move(store), sequence);
  RETURN_IF_ERROR(p->Init());
  return std::unique_ptr<Projector>(std::move(p));
}

}  // namespace threadline::journey
