#include "dead_letters.h"

#include "threadline/common/status.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/projector.h"

namespace threadline::journey {

void DeadLetters::Park(const bus::Message& m, const std::string& reason) {
  if (!publisher_) return;
  bus::OutMessage out;
  out.topic = domain::kDeadLetterTopic;
  out.key = m.key;
  out.value = m.value;
  out.headers = m.headers;
  out.headers.push_back({"deadletter_reason", reason});
  out.headers.push_back({"deadletter_source_topic", m.topic});
  out.headers.push_back({"deadletter_source_partition", std::to_string(m.partition)});
  out.headers.push_back({"deadletter_source_offset", std::to_string(m.offset)});
  out.headers.push_back({"deadletter_consumer", "journey"});
  out.headers.push_back({"deadletter_instance", instance_});
  absl::Status s =
      publisher_->Publish(std::move(out), [this](const absl::Status& st, int32_t, int64_t) {
        if (!st.ok()) Failed();
      });
  if (!s.ok()) Failed();
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
