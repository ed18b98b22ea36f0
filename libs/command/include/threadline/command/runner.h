#pragma once

// The one way every department service executes a command:
//   replay check (request_id) -> load aggregate -> decide -> stamp envelopes
//   -> append with the loaded version, idempotency record and claims.
// Handlers supply the pure parts (evolve, decide, respond); everything
// about idempotency, concurrency and envelopes lives here once.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/common/clock.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"
#include "threadline/eventstore/event_store.h"

namespace threadline::command {

// Per-service, long-lived.
struct Env {
  eventstore::EventStore* store = nullptr;
  const Clock* clock = nullptr;
  std::string service;  // "sales": scopes request ids
  v1::Department department = v1::DEPARTMENT_UNSPECIFIED;
};

// Per call: who and why.
struct Invocation {
  v1::Actor actor;
  std::string correlation_id;  // empty: the request_id
};

// The aggregate a command acts on.
struct Target {
  std::string aggregate_type;  // "customer"
  std::string aggregate_id;    // "cus_..."
  std::string customer_id;
  std::string Stream() const { return aggregate_type + "-" + aggregate_id; }
};

// Fields every command request carries.
struct Common {
  std::string request_id;
  std::optional<uint64_t> expected_version;
  v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
};
template <typename Request>
Common CommonOf(const Request& r) {
  Common c;
  c.request_id = r.request_id();
  if (r.has_expected_version()) c.expected_version = r.expected_version();
  c.channel = r.channel();
  return c;
}

// Result of the non-template core.
struct Outcome {
  bool replayed = false;
  std::string response;                   // serialized response (replays) — empty otherwise
  std::vector<v1::EventEnvelope> events;  // stamped, as appended
  uint64_t version = 0;
  std::string stream;
};

using ResetFn = std::function<void()>;  // back to the empty state (before a retry)
using EvolveFn = std::function<void(const v1::EventEnvelope&)>;
using DecideFn = std::function<absl::StatusOr<domain::Events>(const domain::CommandContext&)>;
using RespondFn = std::function<std::string(const Outcome&)>;  // serialized response
using ClaimsFn = std::function<std::vector<eventstore::UniqueClaim>(const domain::Events&)>;

// Validates the common fields, then runs the command (see file comment).
// `evolve` is called for every stored event of the target stream before
// `decide`. Returns the outcome, whose `response` is the serialized answer.
absl::StatusOr<Outcome> Execute(const Env& env, const Invocation& inv, const Common& common,
                                const google::protobuf::Message& request, const Target& target,
                                const ResetFn& reset, const EvolveFn& evolve,
                                const DecideFn& decide, const RespondFn& respond,
                                const ClaimsFn& claims = nullptr);

// Typed wrapper: folds State with `evolve`, builds Response with `respond`
// (which must fill the ack), and parses replays back into a Response with
// ack.replayed = true.
template <typename State, typename Request, typename Response>
absl::StatusOr<Response> Run(const Env& env, const Invocation& inv, const Request& request,
                             const Target& target,
                             const std::function<void(State&, const v1::EventEnvelope&)>& evolve,
                             const std::function<absl::StatusOr<domain::Events>(
                                 const State&, const domain::CommandContext&)>& decide,
                             const std::function<void(Response&, const Outcome&)>& respond,
                             const ClaimsFn& claims = nullptr) {
  State state{};
  ASSIGN_OR_RETURN(Outcome outcome,
                   Execute(
                       env, inv, CommonOf(request), request, target, [&] { state = State{}; },
                       [&](const v1::EventEnvelope& e) { evolve(state, e); },
                       [&](const domain::CommandContext& ctx) { return decide(state, ctx); },
                       [&](const Outcome& o) {
                         Response r;
                         respond(r, o);
                         return r.SerializeAsString();
                       },
                       claims));
  Response response;
  if (!response.ParseFromString(outcome.response)) {
    return absl::DataLossError("stored response for request_id " + request.request_id() +
                               " does not decode");
  }
  if (outcome.replayed) response.mutable_ack()->set_replayed(true);
  return response;
}

// Stamps decided events with everything but their payload: ids, aggregate,
// versions from head+1, department, channel, actor, correlation/causation.
struct Stamp {
  v1::Channel channel = v1::CHANNEL_SYSTEM;
  v1::Actor actor;
  std::string correlation_id;
  std::string causation_id;
  TimePoint now;
};
void StampEvents(const Env& env, const Target& target, const Stamp& stamp, uint64_t head,
                 domain::Events& events);

// Fills an ack from an outcome.
void FillAck(const Outcome& o, v1::CommandAck* ack);

// Loads an aggregate's events and folds them; NOT_FOUND when none exist.
absl::Status Load(eventstore::EventStore& store, const std::string& stream, const EvolveFn& evolve,
                  std::string_view what);

// The state an aggregate's events fold into (a default State when the stream
// is empty), through the domain's Evolve(State&, const EventEnvelope&).
template <typename State>
absl::StatusOr<State> Fold(eventstore::EventStore& store, const std::string& stream) {
  ASSIGN_OR_RETURN(auto events, store.ReadStream(stream));
  State state;
  for (const auto& e : events) Evolve(state, e);
  return state;
}

}  // namespace threadline::command
