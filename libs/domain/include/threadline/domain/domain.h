#pragma once

// Shared vocabulary of the pure domain code of every department service:
// Decide(state, command, context) -> events | error and Evolve(state, event).
// Nothing here touches RocksDB, Kafka or gRPC, so domain tests run
// Given/When/Then in microseconds.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/common/clock.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::domain {

// What a decision may depend on besides state and command. Services fill it
// from the request and the injected clock; tests fill it by hand.
struct CommandContext {
  TimePoint now;
  v1::Actor actor;  // the authenticated principal and role
  v1::Channel channel = v1::CHANNEL_SYSTEM;
  // Makes a new prefixed id ("ord" -> "ord_0190..."). Tests make it
  // deterministic.
  std::function<std::string(std::string_view prefix)> new_id;
};

// Events as decided: only the payload and, when it differs from
// context.now, occurred_at are set. The service stamps event_id,
// customer_id, aggregate, channel, actor, correlation and causation ids.
using Events = std::vector<v1::EventEnvelope>;

// Timestamps <-> TimePoint.
google::protobuf::Timestamp ToProto(TimePoint t);
TimePoint FromProto(const google::protobuf::Timestamp& t);

// The message's bytes with map fields in key order (proto's default
// serialisation writes maps in hash order): equal messages, equal bytes, for
// digests and request fingerprints.
std::string DeterministicBytes(const google::protobuf::MessageLite& m);

// The event type name ("CustomerRegistered") of an envelope's payload, or
// "Unknown" when no payload is set.
std::string EventType(const v1::EventEnvelope& e);

// The department that owns an event type, by its payload's number: sales
// 100-119, installation 120-139, support 140-169, billing 170-199, privacy
// 200-219. DEPARTMENT_UNSPECIFIED for the suite's own events (220-239,
// PolicyChanged), which every department store records, and for none.
v1::Department DepartmentOf(const v1::EventEnvelope& e);

// Clocks of two machines differ: a stated time up to this far ahead of the
// service's clock is taken as now-ish, not as the future.
inline constexpr std::chrono::minutes kMaxClockSkew{5};

// When something happened, as a command states it (`stated` null or unset:
// now). A time more than kMaxClockSkew ahead is INVALID_ARGUMENT. One older
// than `grace` is history being imported from another system, which only
// admin may record (PERMISSION_DENIED otherwise): a week-old complaint
// migrated from an old CRM keeps its real age, but an agent cannot backdate
// a ticket to make its service level look kept or broken.
absl::StatusOr<TimePoint> StatedTime(std::string_view field,
                                     const google::protobuf::Timestamp* stated,
                                     const CommandContext& ctx, std::chrono::seconds grace);

}  // namespace threadline::domain
