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
#include "threadline/eventstore/forwarding_store.h"
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
class InterposedStore final : public eventstore::ForwardingStore {
 public:
  explicit InterposedStore(eventstore::EventStore* inner) : ForwardingStore(inner) {}
  std::function<absl::Status()> before_append;
  int appends = 0;

  absl::StatusOr<eventstore::AppendResult> Append(eventstore::AppendRequest r) override {
    ++appends;
    if (before_append) RETURN_IF_ERROR(before_append());
    return inner()->Append(std::move(r));
  }
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
