#include "dead_letters.h"

#include "threadline/common/status.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/projector.h"

namespace threadline::journey {

std::vector<bus::Header> DeadLetters::Headers(const std::string& reason,
                                              const std::string& source_topic) {
  return {{"deadletter_reason", reason},
          {"deadletter_source_topic", source_topic},
          {"deadletter_consumer", "journey"},
          {"deadletter_instance", instance_}};
}

void DeadLetters::Park(const bus::Message& m, const std::string& reason) {
  if (!publisher_) return;
  bus::OutMessage out;
  out.topic = domain::kDeadLetterTopic;
  out.key = m.key;
  out.value = m.value;
  out.headers = m.headers;
  for (auto& h : Headers(reason, m.topic)) out.headers.push_back(std::move(h));
  out.headers.push_back({"deadletter_source_partition", std::to_string(m.partition)});
  out.headers.push_back({"deadletter_source_offset", std::to_string(m.offset)});
  absl::Status s =
      publisher_->Publish(std::move(out), [this](const absl::Status& st, int32_t, int64_t) {
        if (!st.ok()) Failed();
      });
  if (!s.ok()) Failed();
}

absl::Status DeadLetters::ParkUpdate(const v1::JourneyUpdate& update, const std::string& reason,
                                     bus::DeliveryCallback done) {
  if (!publisher_) return absl::FailedPreconditionError("no publisher for dead letters");
  v1::JourneyUpdate small;
  small.set_resume_token(update.resume_token());
  const v1::TimelineEntry& e = update.entry();
  auto* entry = small.mutable_entry();
  entry->set_event_id(e.event_id());
  entry->set_customer_id(e.customer_id());
  entry->set_sequence(e.sequence());
  entry->set_kind(e.kind());
  entry->set_department(e.department());
  *entry->mutable_occurred_at() = e.occurred_at();
  bus::OutMessage out;
  out.topic = domain::kDeadLetterTopic;
  out.key = e.customer_id();
  out.value = small.SerializeAsString();
  out.headers = Headers(reason, std::string(domain::kJourneyTopic));
  out.headers.push_back({"deadletter_journey_sequence", std::to_string(e.sequence())});
  return publisher_->Publish(std::move(out), std::move(done));
}

absl::Status DeadLetters::Confirm() {
  if (!publisher_) return absl::OkStatus();
  RETURN_IF_ERROR(publisher_->Flush(std::chrono::seconds(30)));
  std::lock_guard lock(mu_);
  if (!failed_) return absl::OkStatus();
  failed_ = false;
  return absl::UnavailableError("could not park messages on " +
                                std::string(domain::kDeadLetterTopic));
}

void DeadLetters::Failed() {
  std::lock_guard lock(mu_);
  failed_ = true;
}

}  // namespace threadline::journey
