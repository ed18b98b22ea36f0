#include "threadline/command/runner.h"

#include <openssl/sha.h>

#include "threadline/common/ids.h"
#include "threadline/common/log.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/validate.h"

namespace threadline::command {
namespace {

// The fingerprint of a request: SHA-256 of its deterministic serialization,
// so a request_id reused for a different request is caught.
std::string Fingerprint(const google::protobuf::Message& request) {
  const std::string bytes = domain::DeterministicBytes(request);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

constexpr int kMaxRaceRetries = 5;

const Logger& Log() {
  static const Logger* log = new Logger("command");
  return *log;
}

}  // namespace

void StampEvents(const Env& env, const Target& target, const Stamp& stamp, uint64_t head,
                 domain::Events& events) {
  const Clock& clock = env.clock ? *env.clock : Clock::Real();
  uint64_t v = head;
  for (auto& e : events) {
    e.set_event_id(NewUuidV7(clock));
    e.set_customer_id(target.customer_id);
    e.set_aggregate_type(target.aggregate_type);
    e.set_aggregate_id(target.aggregate_id);
    e.set_version(++v);
    if (!e.has_occurred_at()) *e.mutable_occurred_at() = domain::ToProto(stamp.now);
    e.set_department(env.department);
    e.set_channel(stamp.channel);
    *e.mutable_actor() = stamp.actor;
    e.set_correlation_id(stamp.correlation_id);
    e.set_causation_id(stamp.causation_id);
    e.set_schema_version(1);
  }
}

void FillAck(const Outcome& o, v1::CommandAck* ack) {
  ack->set_stream_id(o.stream);
  ack->set_version(o.version);
  for (const auto& e : o.events) ack->add_event_ids(e.event_id());
  ack->set_replayed(o.replayed);
}

absl::Status Load(eventstore::EventStore& store, const std::string& stream, const EvolveFn& evolve,
                  std::string_view what) {
  ASSIGN_OR_RETURN(auto events, store.ReadStream(stream));
  if (events.empty()) return absl::NotFoundError(std::string(what) + " not found");
  for (const auto& e : events) evolve(e);
  return absl::OkStatus();
}

namespace {

// The id that ties a customer request's events together across departments:
// the caller's, or the request_id when it sent none.
const std::string& CorrelationId(const Invocation& inv, const Common& common) {
  return inv.correlation_id.empty() ? common.request_id : inv.correlation_id;
}

absl::StatusOr<Outcome> ExecuteCommand(const Env& env, const Invocation& inv, const Common& common,
                                       const google::protobuf::Message& request,
                                       const Target& target, const ResetFn& reset,
                                       const EvolveFn& evolve, const DecideFn& decide,
                                       const RespondFn& respond, const ClaimsFn& claims) {
  RETURN_IF_ERROR(domain::ValidateRequestId(common.request_id));
  RETURN_IF_ERROR(domain::ValidateChannel("channel", common.channel));
  const std::string idem_key = env.service + "/" + common.request_id;
  const std::string fingerprint = Fingerprint(request);
  const std::string stream = target.Stream();

  // A retried request answers with its first result before anything else:
  // the state may have moved on since, the answer must not.
  ASSIGN_OR_RETURN(auto prior, env.store->FindIdempotent(idem_key));
  if (prior) {
    if (prior->request_fingerprint != fingerprint) {
      return absl::InvalidArgumentError("request_id '" + common.request_id +
                                        "' was already used for a different request; choose a "
                                        "new request_id");
    }
    Outcome o;
    o.replayed = true;
    o.response = std::move(prior->result.response);
    o.version = prior->result.version.value();
    o.stream = stream;
    return o;
  }

  const Clock& clock = env.clock ? *env.clock : Clock::Real();
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto history, env.store->ReadStream(stream));
    uint64_t head = history.empty() ? 0 : history.back().version();
    if (common.expected_version && *common.expected_version != head) {
      return absl::AbortedError(target.aggregate_type + " " + target.aggregate_id +
                                " is at version " + std::to_string(head) +
                                ", the request expected " +
                                std::to_string(*common.expected_version) + "; reload it and retry");
    }
    reset();
    for (const auto& e : history) evolve(e);

    domain::CommandContext ctx;
    ctx.now = clock.Now();
    ctx.actor = inv.actor;
    ctx.channel = common.channel;
    ctx.new_id = [&clock](std::string_view prefix) { return NewId(prefix, clock); };
    ASSIGN_OR_RETURN(domain::Events events, decide(ctx));

    std::vector<eventstore::UniqueClaim> claim_list;
    if (claims) claim_list = claims(events);

    Outcome o;
    o.stream = stream;
    o.version = head + events.size();
    Stamp stamp;
    stamp.channel = common.channel;
    stamp.actor = inv.actor;
    stamp.correlation_id = CorrelationId(inv, common);
    stamp.causation_id = common.request_id;
    stamp.now = ctx.now;
    StampEvents(env, target, stamp, head, events);
    o.events = events;
    std::string response = respond(o);

    eventstore::AppendRequest append;
    append.stream = stream;
    append.expected_version = StreamVersion(head);
    append.events = std::move(events);
    append.idempotency_key = idem_key;
    append.request_fingerprint = fingerprint;
    append.response = response;
    append.claims = std::move(claim_list);
    auto result = env.store->Append(std::move(append));
    if (result.ok()) {
      o.replayed = result->replayed;
      o.response = result->response;
      if (result->replayed) o.version = result->version.value();
      return o;
    }
    // Lost a race with another command on the same aggregate: decide again
    // on the new state, unless the client pinned the version it saw.
    if (result.status().code() == absl::StatusCode::kAborted && !common.expected_version &&
        attempt < kMaxRaceRetries) {
      continue;
    }
    return result.status();
  }
}

}  // namespace

absl::StatusOr<Outcome> Execute(const Env& env, const Invocation& inv, const Common& common,
                                const google::protobuf::Message& request, const Target& target,
                                const ResetFn& reset, const EvolveFn& evolve,
                                const DecideFn& decide, const RespondFn& respond,
                                const ClaimsFn& claims) {
  auto outcome =
      ExecuteCommand(env, inv, common, request, target, reset, evolve, decide, respond, claims);
  // One line per command, carrying the correlation id the events get, so a
  // log search follows one customer request across departments.
  const std::string& correlation_id = CorrelationId(inv, common);
  if (outcome.ok()) {
    Log().Info("command handled", {{"service", env.service},
                                   {"command", request.GetDescriptor()->name()},
                                   {"stream", outcome->stream},
                                   {"version", outcome->version},
                                   {"events", outcome->events.size()},
                                   {"replayed", outcome->replayed ? "true" : "false"},
                                   {"request_id", common.request_id},
                                   {"correlation_id", correlation_id}});
  } else {
    Log().Info("command rejected", {{"service", env.service},
                                    {"command", request.GetDescriptor()->name()},
                                    {"code", absl::StatusCodeToString(outcome.status().code())},
                                    {"error", std::string(outcome.status().message())},
                                    {"request_id", common.request_id},
                                    {"correlation_id", correlation_id}});
  }
  return outcome;
}

}  // namespace threadline::command
