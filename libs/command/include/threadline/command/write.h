#pragma once

// The one write path. Every change to an aggregate, whether a command, a
// reaction or a timer makes it, goes through WriteAggregate:
//
//   idempotent answer? -> lock the stream -> load and fold State -> expected
//   version? -> decide -> stamp -> one append (events, claims, releases,
//   idempotency record)
//
// Writers of one stream in this process take turns (a striped lock held from
// the load to the append), so a write without an expected version never
// loses a race to another writer here; a writer elsewhere (another process on
// the same store) is met by deciding again on the new state until the write's
// budget runs out. ABORTED therefore means one thing: the caller's expected
// version is stale.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/common/clock.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"
#include "threadline/eventstore/event_store.h"

namespace threadline::privacy {
class KeySource;
}

namespace threadline::command {

// Per-service, long-lived.
struct Env {
  eventstore::EventStore* store = nullptr;
  const Clock* clock = nullptr;  // null: the real clock
  std::string service;           // "sales": scopes request ids
  v1::Department department = v1::DEPARTMENT_UNSPECIFIED;
  // Opens sealed events a reactor reads from a topic; null when this
  // process seals nothing (store holds what it gets).
  privacy::KeySource* keys = nullptr;
};

// The aggregate a write acts on.
struct Target {
  std::string aggregate_type;  // "customer"
  std::string aggregate_id;    // "cus_..."
  // The customer of an aggregate that does not exist yet. An existing
  // aggregate's customer comes from its folded state (State::customer_id)
  // when the state has one.
  std::string customer_id;
  std::string Stream() const { return aggregate_type + "-" + aggregate_id; }
};

// What a decision appends in one atomic write: its events, and the index
// entries (event-store claims) they make true or stale.
struct Decision {
  domain::Events events;
  std::vector<eventstore::UniqueClaim> claims;
  std::vector<eventstore::UniqueClaim> releases;

  Decision() = default;
  // A decision of events only: what most domain functions return.
  Decision(domain::Events e) : events(std::move(e)) {}  // NOLINT(google-explicit-constructor)
  bool empty() const { return events.empty() && claims.empty() && releases.empty(); }
};

// Who writes, through which channel, and why: stamped on every event.
struct Stamp {
  v1::Channel channel = v1::CHANNEL_SYSTEM;
  v1::Actor actor;
  std::string correlation_id;
  std::string causation_id;
};

// One write to one aggregate.
struct Write {
  Target target;
  Stamp stamp;
  // The version the client saw. Unset: the write decides on whatever the
  // current state is.
  std::optional<uint64_t> expected_version;
  // When set, a later write with the same key answers with this one's result
  // and appends nothing; `fingerprint` tells a different request apart.
  std::string idempotency_key;
  std::string fingerprint;
  // The client's request_id, for error messages; empty for reactions and
  // timers.
  std::string request_id;
  // A decision with nothing in it is still recorded under the key (a
  // command's answer). False: it appends nothing (a reaction with no effect,
  // decided again on a re-delivery).
  bool record_empty = true;
  // How long to keep deciding again when a writer outside this process
  // changed the stream in between. Default: 10 s.
  std::chrono::milliseconds race_budget{10'000};
};

// What a write stored, or the first answer of a replayed one.
struct Outcome {
  bool replayed = false;
  std::string response;                   // the stored answer (replays)
  std::vector<v1::EventEnvelope> events;  // stamped, as appended (empty on replay)
  uint64_t version = 0;                   // stream version after the write
  std::string stream;
};

// The serialized answer stored with the idempotency record; `o` holds the
// stamped events and the new version.
using RespondFn = std::function<std::string(const Outcome& o)>;

// The customer a write's events carry: the aggregate's own, else the
// target's (an aggregate being created, or one that has no customer yet).
template <typename State>
std::string CustomerOf(const State& state, const Target& target) {
  if constexpr (requires { state.customer_id; }) {
    if (!state.customer_id.empty()) return state.customer_id;
  }
  return target.customer_id;
}

namespace internal {

// The first answer under w.idempotency_key, if any; INVALID_ARGUMENT when it
// was given to a different request.
absl::StatusOr<std::optional<Outcome>> Replayed(const Env& env, const Write& w);
// Serialises writers of `stream` in this process (see the file comment).
std::unique_lock<std::mutex> LockStream(const Env& env, const std::string& stream);
// ABORTED naming both versions when the client's expected version is stale.
absl::Status CheckExpected(const Write& w, uint64_t head);
// now, actor, channel and ids from env.clock.
domain::CommandContext Context(const Env& env, const Write& w);
// Stamps `d`'s events after `head` and appends them with its claims,
// releases and the idempotency record.
absl::StatusOr<Outcome> Commit(const Env& env, const Write& w, const std::string& customer,
                               uint64_t head, TimePoint now, Decision d, const RespondFn& respond);
// After a failed commit: nullopt to decide again (a race lost to a writer
// outside this process, within the budget), else the status to answer. A
// race that outlasts the budget is UNAVAILABLE, never ABORTED: only the
// client's own stale expected version is.
std::optional<absl::Status> AfterFailure(const absl::Status& s, const Write& w,
                                         std::chrono::steady_clock::time_point deadline);

}  // namespace internal

// Writes to w.target's stream what `decide(const State&, const
// domain::CommandContext&) -> absl::StatusOr<Decision>` decides on the
// stream's current state, folded with the domain's Evolve(State&, const
// v1::EventEnvelope&). `decide` may run more than once (a race with another
// process) and must not have effects of its own. `respond` (may be null)
// makes the answer stored for replays.
template <typename State, typename DecideFn>
absl::StatusOr<Outcome> WriteAggregate(const Env& env, const Write& w, DecideFn&& decide,
                                       const RespondFn& respond = nullptr) {
  ASSIGN_OR_RETURN(std::optional<Outcome> prior, internal::Replayed(env, w));
  if (prior) return std::move(*prior);
  const std::string stream = w.target.Stream();
  auto lock = internal::LockStream(env, stream);
  const auto deadline = std::chrono::steady_clock::now() + w.race_budget;
  for (;;) {
    ASSIGN_OR_RETURN(auto history, env.store->ReadStream(stream));
    State state{};
    for (const auto& e : history) Evolve(state, e);
    const uint64_t head = history.empty() ? 0 : history.back().version();
    RETURN_IF_ERROR(internal::CheckExpected(w, head));
    const domain::CommandContext ctx = internal::Context(env, w);
    absl::StatusOr<Decision> decided = decide(std::as_const(state), ctx);
    if (!decided.ok()) return decided.status();
    if (decided->empty() && !w.record_empty) {
      Outcome o;
      o.version = head;
      o.stream = stream;
      return o;
    }
    auto outcome = internal::Commit(env, w, CustomerOf(state, w.target), head, ctx.now,
                                    std::move(*decided), respond);
    if (outcome.ok()) return outcome;
    if (auto answer = internal::AfterFailure(outcome.status(), w, deadline)) return *answer;
  }
}

// The state an aggregate's events fold into (a default State when the stream
// is empty). For reads; writes fold inside WriteAggregate.
template <typename State>
absl::StatusOr<State> Fold(eventstore::EventStore& store, const std::string& stream) {
  ASSIGN_OR_RETURN(auto events, store.ReadStream(stream));
  State state{};
  for (const auto& e : events) Evolve(state, e);
  return state;
}

// Fold, but NOT_FOUND ("<what> not found") when the stream has no events.
template <typename State>
absl::StatusOr<State> Load(eventstore::EventStore& store, const std::string& stream,
                           std::string_view what) {
  ASSIGN_OR_RETURN(auto events, store.ReadStream(stream));
  if (events.empty()) return absl::NotFoundError(std::string(what) + " not found");
  State state{};
  for (const auto& e : events) Evolve(state, e);
  return state;
}

}  // namespace threadline::command
