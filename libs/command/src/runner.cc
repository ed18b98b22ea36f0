#include "threadline/command/runner.h"

#include <openssl/sha.h>

#include <array>
#include <functional>
#include <thread>

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

const Logger& Log() {
  static const Logger* log = new Logger("command");
  return *log;
}

const Clock& ClockOf(const Env& env) { return env.clock ? *env.clock : Clock::Real(); }

std::string ReusedKey(const Write& w) {
  return "request_id '" + (w.request_id.empty() ? w.idempotency_key : w.request_id) +
         "' was already used for a different request; choose a new request_id";
}

// Stream locks, striped: two streams that share a stripe only take turns.
constexpr size_t kStripes = 256;
std::array<std::mutex, kStripes>& Stripes() {
  static auto* stripes = new std::array<std::mutex, kStripes>();
  return *stripes;
}

// The id that ties a customer request's events together across
// departments: the caller's, or the request_id when it sent none.
const std::string& CorrelationId(const Invocation& inv, const Common& common) {
  return inv.correlation_id.empty() ? common.request_id : inv.correlation_id;
}

}  // namespace

namespace internal {

absl::StatusOr<std::optional<Outcome>> Replayed(const Env& env, const Write& w) {
  if (w.idempotency_key.empty()) return std::optional<Outcome>();
  ASSIGN_OR_RETURN(auto prior, env.store->FindIdempotent(w.idempotency_key));
  if (!prior) return std::optional<Outcome>();
  if (prior->request_fingerprint != w.fingerprint) return absl::InvalidArgumentError(ReusedKey(w));
  Outcome o;
  o.replayed = true;
  o.response = std::move(prior->result.response);
  o.version = prior->result.version.value();
  o.stream = w.target.Stream();
  return std::optional<Outcome>(std::move(o));
}

std::unique_lock<std::mutex> LockStream(const Env& env, const std::string& stream) {
  // Streams of different stores are different streams.
  const size_t h = std::hash<std::string>()(stream) ^
                   (std::hash<const void*>()(env.store) * 0x9e3779b97f4a7c15ULL);
  return std::unique_lock<std::mutex>(Stripes()[h % kStripes]);
}

absl::Status CheckExpected(const Write& w, uint64_t head) {
  if (!w.expected_version || *w.expected_version == head) return absl::OkStatus();
  return absl::AbortedError(w.target.aggregate_type + " " + w.target.aggregate_id +
                            " is at version " + std::to_string(head) + ", the request expected " +
                            std::to_string(*w.expected_version) + "; reload it and retry");
}

domain::CommandContext Context(const Env& env, const Write& w) {
  const Clock* clock = &ClockOf(env);
  domain::CommandContext ctx;
  ctx.now = clock->Now();
  ctx.actor = w.stamp.actor;
  ctx.channel = w.stamp.channel;
  ctx.new_id = [clock](std::string_view prefix) { return NewId(prefix, *clock); };
  return ctx;
}

absl::StatusOr<Outcome> Commit(const Env& env, const Write& w, const std::string& customer,
                               uint64_t head, TimePoint now, Decision d, const RespondFn& respond) {
  const Clock& clock = ClockOf(env);
  Outcome o;
  o.stream = w.target.Stream();
  o.version = head + d.events.size();
  uint64_t v = head;
  for (auto& e : d.events) {
    e.set_event_id(NewUuidV7(clock));
    e.set_customer_id(customer);
    e.set_aggregate_type(w.target.aggregate_type);
    e.set_aggregate_id(w.target.aggregate_id);
    e.set_version(++v);
    if (!e.has_occurred_at()) *e.mutable_occurred_at() = domain::ToProto(now);
    e.set_department(env.department);
    e.set_channel(w.stamp.channel);
    *e.mutable_actor() = w.stamp.actor;
    e.set_correlation_id(w.stamp.correlation_id);
    e.set_causation_id(w.stamp.causation_id);
    e.set_schema_version(1);
    // Every consumer refuses an envelope over domain::kMaxEnvelopeBytes:
    // such an event must never be acknowledged.
    if (const size_t bytes = e.ByteSizeLong(); bytes > domain::kMaxEventBytes) {
      return absl::InvalidArgumentError("the command would record an event of " +
                                        std::to_string(bytes) + " bytes; an event is at most " +
                                        std::to_string(domain::kMaxEventBytes) +
                                        " bytes: send less text or fewer items");
    }
  }
  o.events = d.events;

  eventstore::AppendRequest append;
  append.stream = o.stream;
  append.expected_version = StreamVersion(head);
  append.events = std::move(d.events);
  append.claims = std::move(d.claims);
  append.releases = std::move(d.releases);
  append.idempotency_key = w.idempotency_key;
  append.request_fingerprint = w.fingerprint;
  if (respond) append.response = respond(o);
  auto result = env.store->Append(std::move(append));
  if (!result.ok()) {
    if (absl::IsInvalidArgument(result.status()) && !w.idempotency_key.empty()) {
      // The key was taken by a different request between the check and the
      // append; say it in the client's words.
      ASSIGN_OR_RETURN(auto prior, env.store->FindIdempotent(w.idempotency_key));
      if (prior && prior->request_fingerprint != w.fingerprint) {
        return absl::InvalidArgumentError(ReusedKey(w));
      }
    }
    return result.status();
  }
  if (result->replayed) {
    // The same request, appended by another caller in between.
    o.replayed = true;
    o.events.clear();
    o.version = result->version.value();
  }
  o.response = std::move(result->response);
  return o;
}

std::optional<absl::Status> AfterFailure(const absl::Status& s, const Write& w,
                                         std::chrono::steady_clock::time_point deadline) {
  // A stale version the client gave is the client's to handle; any other
  // ABORTED is a writer outside this process that got there first.
  if (!absl::IsAborted(s) || w.expected_version) return s;
  if (std::chrono::steady_clock::now() >= deadline) {
    return absl::UnavailableError(w.target.aggregate_type + " " + w.target.aggregate_id +
                                  " kept changing under this write (another writer of the same "
                                  "store?); retry the request");
  }
  std::this_thread::yield();
  return std::nullopt;
}

absl::StatusOr<Write> CommandWrite(const Env& env, const Invocation& inv, const Common& common,
                                   const google::protobuf::Message& request, const Target& target) {
  RETURN_IF_ERROR(domain::ValidateRequestId(common.request_id));
  RETURN_IF_ERROR(domain::ValidateChannel("channel", common.channel));
  Write w;
  w.target = target;
  w.stamp.channel = common.channel;
  w.stamp.actor = inv.actor;
  w.stamp.correlation_id = CorrelationId(inv, common);
  w.stamp.causation_id = common.request_id;
  w.expected_version = common.expected_version;
  w.idempotency_key = env.service + "/" + common.request_id;
  w.fingerprint = Fingerprint(request);
  w.request_id = common.request_id;
  return w;
}

void LogCommand(const Env& env, const Invocation& inv, const Common& common,
                const google::protobuf::Message& request, const absl::StatusOr<Outcome>& outcome) {
  const std::string& correlation_id = CorrelationId(inv, common);
  // One line per command, carrying the correlation id the events get, so a
  // log search follows one customer request across departments.
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
    Log().Info("command rejected",
               {{"service", env.service},
                {"command", request.GetDescriptor()->name()},
                {"code", absl::StatusCodeToString(outcome.status().code())},
                // The client saw the values; the log does not.
                {"error", domain::WithoutQuotedValues(std::string(outcome.status().message()))},
                {"request_id", common.request_id},
                {"correlation_id", correlation_id}});
  }
}

}  // namespace internal

void FillAck(const Outcome& o, v1::CommandAck* ack) {
  ack->set_stream_id(o.stream);
  ack->set_version(o.version);
  for (const auto& e : o.events) ack->add_event_ids(e.event_id());
  ack->set_replayed(o.replayed);
}

}  // namespace threadline::command
