#include "journey_topic.h"

#include "threadline/common/coding.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/projector.h"
#include "threadline/outbox/relay.h"

namespace threadline::journey {

void JourneyTopic::Publish(const v1::JourneyUpdate& u) {
  if (!publisher_) return;
  bus::OutMessage m;
  m.topic = domain::kJourneyTopic;
  m.key = u.entry().customer_id();
  m.value = u.SerializeAsString();
  if (m.value.size() > max_update_bytes_) {
    Park(u, "journey update of " + std::to_string(m.value.size()) +
                " bytes is larger than the journey topic takes (" +
                std::to_string(max_update_bytes_) + ")");
    return;
  }
  m.headers.push_back({outbox::kHeaderEventType, u.entry().kind()});
  m.headers.push_back({outbox::kHeaderEventId, u.entry().event_id()});
  uint64_t seq = u.entry().sequence();
  // Refused by the broker as too large (INVALID_ARGUMENT): parked from the
  // copy the feed keeps, so no update is copied into its callback.
  absl::Status s =
      publisher_->Publish(std::move(m), [this, seq](const absl::Status& st, int32_t, int64_t) {
        if (absl::IsInvalidArgument(st)) {
          ParkStored(seq, "the journey topic refused the update: " + std::string(st.message()));
          return;
        }
        std::lock_guard lock(mu_);
        if (!st.ok()) {
          failed_ = true;
          return;
        }
        published_.Delivered(seq);
      });
  if (absl::IsInvalidArgument(s)) {
    Park(u, "the journey topic refused the update: " + std::string(s.message()));
  } else if (!s.ok()) {
    std::lock_guard lock(mu_);
    failed_ = true;
  }
}

void JourneyTopic::ParkStored(uint64_t seq, const std::string& reason) {
  std::string value;
  v1::JourneyUpdate u;
  auto found = store_.Get(keys::Family::kFeed, keys::FeedKey(seq), &value, "reading the feed");
  if (!found.ok() || !*found || !u.ParseFromString(value)) {
    // Not parked, so the cursor stays: the next Save publishes it again.
    std::lock_guard lock(mu_);
    failed_ = true;
    return;
  }
  Park(u, reason);
}

void JourneyTopic::Park(const v1::JourneyUpdate& u, const std::string& reason) {
  const uint64_t seq = u.entry().sequence();
  if (park_log_.Allow()) {
    log_.Error("journey update parked on the dead-letter topic; it is never sent again",
               {{"customer_id", u.entry().customer_id()},
                {"event_id", u.entry().event_id()},
                {"sequence", seq},
                {"reason", reason}});
  }
  absl::Status s = dead_letters_ == nullptr
                       ? absl::FailedPreconditionError("no dead-letter topic")
                       : dead_letters_->ParkUpdate(
                             u, reason, [this, seq](const absl::Status& st, int32_t, int64_t) {
                               std::lock_guard lock(mu_);
                               if (!st.ok()) {
                                 failed_ = true;
                                 return;
                               }
                               ++dead_lettered_;
                               published_.Delivered(seq);
                             });
  if (!s.ok()) {
    std::lock_guard lock(mu_);
    failed_ = true;
  }
}

void JourneyTopic::RepublishUnconfirmed() {
  uint64_t from;
  {
    std::lock_guard lock(mu_);
    from = published_.value();
    published_.ForgetAhead();
    failed_ = false;
  }
  auto it = store_.NewIterator(keys::Family::kFeed);
  for (it->Seek(keys::FeedKey(from + 1)); it->Valid(); it->Next()) {
    v1::JourneyUpdate u;
    if (u.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) Publish(u);
  }
}

void JourneyTopic::Save() {
  uint64_t p;
  bool failed, moved;
  {
    std::lock_guard lock(mu_);
    p = published_.value();
    failed = failed_;
    moved = p != saved_;
    if (!moved && !failed) return;
  }
  if (moved) {
    rocksdb::WriteBatch batch;
    store_.Put(batch, keys::Family::kMeta, keys::kPublishedKey, coding::Fixed64Key(p));
    if (store_.Write(batch, "saving the journey topic's cursor").ok()) {
      std::lock_guard lock(mu_);
      saved_ = p;
    }
  }
  if (failed && publisher_ && publisher_->Flush(std::chrono::seconds(5)).ok()) {
    RepublishUnconfirmed();
  }
}

uint64_t JourneyTopic::published() const {
  std::lock_guard lock(mu_);
  return published_.value();
}

uint64_t JourneyTopic::dead_lettered() const {
  std::lock_guard lock(mu_);
  return dead_lettered_;
}

}  // namespace threadline::journey
