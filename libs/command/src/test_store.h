#pragma once

// Test-only pieces of the write path's tests: an aggregate of notes, and an
// event store that forwards to a real one and lets a test act where another
// process could, between a write's load and its append.

#include <filesystem>
#include <functional>
#include <memory>

#include "threadline/command/write.h"
#include "threadline/common/status.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/testing/testing.h"

namespace threadline::command::testing {

// A stream of notes: how many were folded, and whose they are.
struct Notes {
  uint64_t version = 0;
  std::string customer_id;
  size_t count = 0;
};
inline void Evolve(Notes& s, const v1::EventEnvelope& e) {
  s.version = e.version();
  s.customer_id = e.customer_id();
  ++s.count;
}
inline v1::EventEnvelope Note(const std::string& text) {
  v1::EventEnvelope e;
  e.mutable_contact_logged()->set_note(text);
  return e;
}

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
  absl::StatusOr<eventstore::VerifyReport> Verify() override { return inner_->Verify(); }

 private:
  eventstore::EventStore* inner_;
};

// A real store in a fresh directory (no fsync: a test is never killed
// mid-write), an InterposedStore in front of it, and an Env over that.
class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(v1::Department department) : department_(department) {}
  void SetUp() override {
    eventstore::Options o;
    o.path = (dir_.path() / "store").string();
    o.sync = false;
    auto s = eventstore::EventStore::Open(o);
    ASSERT_OK(s);
    real_ = std::move(*s);
    store_ = std::make_unique<InterposedStore>(real_.get());
    env_ = Env{store_.get(), nullptr, "test", department_};
  }

  v1::Department department_;
  ::threadline::testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> real_;
  std::unique_ptr<InterposedStore> store_;
  Env env_;
};

}  // namespace threadline::command::testing
