#pragma once

// An EventStore that passes every call to another one: the base of stores
// that change a few calls on the way (sealing personal data, tests that act
// between a load and an append).

#include <utility>

#include "threadline/eventstore/event_store.h"

namespace threadline::eventstore {

class ForwardingStore : public EventStore {
 public:
  explicit ForwardingStore(EventStore* inner) : inner_(inner) {}

  absl::StatusOr<AppendResult> Append(AppendRequest r) override {
    return inner_->Append(std::move(r));
  }
  absl::StatusOr<AppendResult> Write(StateWrite w) override { return inner_->Write(std::move(w)); }
  absl::StatusOr<std::optional<IdempotentRecord>> FindIdempotent(const std::string& key) override {
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
  absl::StatusOr<std::vector<StoredEvent>> ReadAll(GlobalPosition after, size_t max) override {
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
  absl::StatusOr<std::vector<ConsumerOffset>> LoadOffsets(const std::string& consumer) override {
    return inner_->LoadOffsets(consumer);
  }
  void OnAppend(std::function<void(GlobalPosition last)> listener) override {
    inner_->OnAppend(std::move(listener));
  }
  absl::StatusOr<uint64_t> Checksum() override { return inner_->Checksum(); }
  absl::StatusOr<VerifyReport> Verify() override { return inner_->Verify(); }
  HistogramSnapshot AppendLatency() const override { return inner_->AppendLatency(); }
  StoreHealth Health() const override { return inner_->Health(); }

 protected:
  EventStore* inner() const { return inner_; }

 private:
  EventStore* inner_;
};

}  // namespace threadline::eventstore
