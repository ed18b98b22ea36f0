#pragma once

// Commands: the gRPC-facing entry to the one write path (write.h). A command
// carries a request_id (its idempotency key, scoped by service), an optional
// expected_version and a channel; Run checks them, writes through
// WriteAggregate and answers with a typed Response.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/command/write.h"
#include "threadline/common/clock.h"
#include "threadline/common/status.h"
#include "threadline/domain/domain.h"

namespace threadline::command {

// Per call: who and why.
struct Invocation {
  v1::Actor actor;
  std::string correlation_id;  // empty: the request_id
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

// Fills an ack from an outcome.
void FillAck(const Outcome& o, v1::CommandAck* ack);

namespace internal {

// Checks the fields every command carries (request_id, channel) and makes
// the command's write: stamped with the caller, correlated, keyed by the
// service and request_id, fingerprinted by the request's bytes.
absl::StatusOr<Write> CommandWrite(const Env& env, const Invocation& inv, const Common& common,
                                   const google::protobuf::Message& request, const Target& target);
// One log line per command, with the correlation id its events carry.
void LogCommand(const Env& env, const Invocation& inv, const Common& common,
                const google::protobuf::Message& request, const absl::StatusOr<Outcome>& outcome);

}  // namespace internal

// Runs a command: checks request_id and channel, then writes what
// `decide(const State&, const domain::CommandContext&)` decides through
// WriteAggregate, and answers with the Response `respond(Response&, const
// Outcome&)` builds (it must fill the ack). A retried request_id answers with
// the first Response, ack.replayed = true.
template <typename State, typename Request, typename Response, typename DecideFn,
          typename ResponderFn>
absl::StatusOr<Response> Run(const Env& env, const Invocation& inv, const Request& request,
                             const Target& target, DecideFn&& decide, ResponderFn&& respond) {
  const Common common = CommonOf(request);
  std::optional<Response> fresh;
  absl::StatusOr<Outcome> outcome = [&]() -> absl::StatusOr<Outcome> {
    ASSIGN_OR_RETURN(Write w, internal::CommandWrite(env, inv, common, request, target));
    return WriteAggregate<State>(env, w, decide, [&](const Outcome& o) {
      fresh.emplace();
      respond(*fresh, o);
      return fresh->SerializeAsString();
    });
  }();
  internal::LogCommand(env, inv, common, request, outcome);
  if (!outcome.ok()) return outcome.status();
  if (!outcome->replayed && fresh) return std::move(*fresh);
  Response response;
  if (!response.ParseFromString(outcome->response)) {
    return absl::DataLossError("stored response for request_id " + request.request_id() +
                               " does not decode");
  }
  response.mutable_ack()->set_replayed(true);
  return response;
}

}  // namespace threadline::command
