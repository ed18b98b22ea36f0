#pragma once

// Test-only: an event store that forwards to a real one and lets a test act
// where another process could, between a write's load and its append.

#include <functional>

#include "threadline/common/status.h"
#include "threadline/eventstore/event_store.h"

namespace threadline::command::testing {

// Forwards to a real store; `before_append` runs first and may append
// itself (through `inner`) or fail the call.
class InterposedStore final : public eventstore::EventStore {
 public:
  explicit InterposedStore(eventstore::EventStore* inner) : inner_(inner) {}
  std::function<absl::Status()> before_append;
  int appends = 0;

  absl::StatusOr<eventstore::AppendResult> Append(eventstore::AppendRequest r) override {
    ++appends;
    if (before_append) RETURN_IF_ERROR(before_append());
    return inner_->Append(std::move(r));
  }
  absl::StatusOr<eventstore::AppendResult> Write(eventstore::StateWrite w) override {
    return inner_->Write(std::move(w));
  }
  absl::StatusOr<std::optional<eventstore::IdempotentRecord>> FindIdempotent(
      const std::string& key) override {
    return inner_->FindIdempotent(key);
  }
  absl::StatusOr<std::vector<v1::EventEnvelope>> ReadStream(const std::string& stream,
                                                            StreamVersion after,
                                                            size_t max) override {
    return inner_->ReadStream(stream, after, max);
  }
  absl::StatusOr<StreamVersion> StreamHead(const std::string& stream) override {
    return inner_->StreamHead(stream);
  }
  absl::StatusOr<std::vector<eventstore::StoredEvent>> ReadAll(GlobalPosition after,
                                                               size_t max) override {
    return inner_->ReadAll(after, max);
  }
  GlobalPosition LastPosition() const override { return inner_->LastPosition(); }
  absl::StatusOr<std::optional<std::string>> FindClaim(const std::string& index,
                                                       const std::string& value) override {
    return inner_->FindClaim(index, value);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanClaims(
      const std::string& index, const std::string& prefix, size_t max) override {
    return inner_->ScanClaims(index, prefix, max);
  }
  absl::StatusOr<GlobalPosition> OutboxCursor(const std::string& name) override {
    return inner_->OutboxCursor(name);
  }
  absl::Status SetOutboxCursor(const std::string& name, GlobalPosition position) override {
    return inner_->SetOutboxCursor(name, position);
  }
  absl::StatusOr<std::vector<eventstore::ConsumerOffset>> LoadOffsets(
      const std::string& consumer) override {
    return inner_->LoadOffsets(consumer);
  }
  void OnAppend(std::function<void(GlobalPosition last)> listener) override {
    inner_->OnAppend(std::move(listener));
  }
  absl::StatusOr<uint64_t> Checksum() override { return inner_->Checksum(); }

 private:
  eventstore::EventStore* inner_;
};

}  // namespace threadline::command::testing
