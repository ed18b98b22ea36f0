#include "threadline/outbox/relay.h"

#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"

namespace threadline::outbox {
namespace {
const Logger& Log() {
  static const Logger* log = new Logger("outbox");
  return *log;
}
}  // namespace

bus::OutMessage ToMessage(const v1::EventEnvelope& envelope, const std::string& topic) {
  bus::OutMessage m;
  m.topic = topic;
  m.key = envelope.customer_id();
  envelope.SerializeToString(&m.value);
  m.headers.push_back({kHeaderEventType, domain::EventType(envelope)});
  m.headers.push_back({kHeaderSchemaVersion, std::to_string(envelope.schema_version())});
  m.headers.push_back({kHeaderEventId, envelope.event_id()});
  return m;
}

OutboxRelay::OutboxRelay(eventstore::EventStore* store, bus::Publisher* publisher,
                         RelayOptions options)
    : store_(store), publisher_(publisher), options_(std::move(options)) {}

OutboxRelay::~OutboxRelay() { Stop(std::chrono::milliseconds(0)); }

absl::Status OutboxRelay::Start() {
  if (options_.topic.empty()) return absl::InvalidArgumentError("relay needs a topic");
  ASSIGN_OR_RETURN(GlobalPosition cursor, store_->OutboxCursor(options_.cursor_name));
  {
    std::lock_guard lock(mu_);
    watermark_ = bus::DeliveredWatermark(cursor.value());
    saved_watermark_ = cursor.value();
    stats_.cursor = saved_watermark_;
  }
  store_->OnAppend([this](GlobalPosition) {
    std::lock_guard lock(mu_);
    wake_ = true;
    cv_.notify_all();
  });
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void OutboxRelay::Stop(std::chrono::milliseconds drain) {
  {
    std::unique_lock lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  thread_.join();
  publisher_->Flush(drain).IgnoreError();
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, drain, [&] { return in_flight_ == 0; });
  }
  SaveCursor();
}

RelayStats OutboxRelay::Stats() const {
  std::lock_guard lock(mu_);
  RelayStats s = stats_;
  s.cursor = watermark_.value();
  s.last_position = store_->LastPosition().value();
  return s;
}

void OutboxRelay::OnDelivered(uint64_t position, const absl::Status& status) {
  std::lock_guard lock(mu_);
  --in_flight_;
  if (!status.ok()) {
    ++stats_.failures;
    if (!failed_) {
      Log().Warn("delivery failed; will re-publish from the cursor",
                 {{"position", position}, {"error", status.ToString()}});
    }
    failed_ = true;
  } else {
    ++stats_.delivered;
    watermark_.Delivered(position);
  }
  cv_.notify_all();
}

void OutboxRelay::SaveCursor() {
  uint64_t w;
  {
    std::lock_guard lock(mu_);
    w = watermark_.value();
    if (w == saved_watermark_) return;
  }
  absl::Status s = store_->SetOutboxCursor(options_.cursor_name, GlobalPosition(w));
  if (!s.ok()) {
    Log().Error("could not save the outbox cursor", {{"error", s.ToString()}});
    return;
  }
  std::lock_guard lock(mu_);
  saved_watermark_ = w;
}

void OutboxRelay::Run() {
  uint64_t next;  // last position handed to the publisher
  {
    std::lock_guard lock(mu_);
    next = watermark_.value();
  }
  LogEvery read_errors(std::chrono::seconds(10));
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      if (failed_) {
        // Let every outstanding report arrive, then start again from the
        // cursor: anything after it may or may not be on the bus.
        cv_.wait(lock, [&] { return in_flight_ == 0 || stopping_; });
        if (stopping_) return;
        cv_.wait_for(lock, options_.retry_backoff, [&] { return stopping_; });
        if (stopping_) return;
        failed_ = false;
        watermark_.ForgetAhead();
        next = watermark_.value();
        ++epoch_;
      }
      if (in_flight_ >= options_.max_in_flight) {
        cv_.wait(lock, [&] { return in_flight_ < options_.max_in_flight || stopping_ || failed_; });
        continue;
      }
    }
    SaveCursor();
    if (store_->LastPosition().value() <= next) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.idle_wait, [&] { return wake_ || stopping_ || failed_; });
      wake_ = false;
      continue;
    }
    auto events = store_->ReadAll(GlobalPosition(next), options_.batch_size);
    if (!events.ok()) {
      if (read_errors.Allow()) {
        Log().Error("reading the store failed", {{"error", events.status().ToString()}});
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.retry_backoff, [&] { return stopping_; });
      continue;
    }
    for (const auto& e : *events) {
      uint64_t position = e.position.value();
      {
        std::lock_guard lock(mu_);
        if (failed_ || stopping_) break;
        ++in_flight_;
        ++stats_.published;
      }
      absl::Status s =
          publisher_->Publish(ToMessage(e.envelope, options_.topic),
                              [this, position](const absl::Status& st, int32_t, int64_t) {
                                OnDelivered(position, st);
                              });
      if (!s.ok()) {
        OnDelivered(position, s);
        break;
      }
      next = position;
    }
  }
}

}  // namespace threadline::outbox
