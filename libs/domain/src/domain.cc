#include "threadline/domain/domain.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <chrono>

#include "threadline/common/status.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/roles.h"
#include "threadline/domain/validate.h"

namespace threadline::domain {

google::protobuf::Timestamp ToProto(TimePoint t) {
  int64_t us = ToUnixMicros(t);
  int64_t secs = us / 1'000'000;
  int64_t rem = us % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  google::protobuf::Timestamp ts;
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(rem * 1000));
  return ts;
}

TimePoint FromProto(const google::protobuf::Timestamp& t) {
  // Timestamps come from clients and from topics anyone may write to: clamp
  // to what a TimePoint (nanoseconds, years 1677..2262) holds, less the
  // largest nanos, so year 9999 sorts last instead of overflowing (undefined
  // behaviour found by tests/fuzz).
  constexpr int64_t kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(TimePoint::duration::max()).count() - 10;
  const int64_t seconds = std::clamp<int64_t>(t.seconds(), -kLimit, kLimit);
  return FromUnixMicros(seconds * 1'000'000 + t.nanos() / 1000);
}

std::string DeterministicBytes(const google::protobuf::MessageLite& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string EventType(const v1::EventEnvelope& e) {
  if (e.payload_case() == v1::EventEnvelope::PAYLOAD_NOT_SET) return "Unknown";
  const auto* field = v1::EventEnvelope::descriptor()->FindFieldByNumber(e.payload_case());
  if (field == nullptr) return "Unknown";
  return field->message_type()->name();
}

v1::Department DepartmentOf(const v1::EventEnvelope& e) {
  int n = static_cast<int>(e.payload_case());
  if (n >= 100 && n < 120) return v1::DEPARTMENT_SALES;
  if (n >= 120 && n < 140) return v1::DEPARTMENT_INSTALLATION;
  if (n >= 140 && n < 170) return v1::DEPARTMENT_SUPPORT;
  if (n >= 170 && n < 200) return v1::DEPARTMENT_BILLING;
  if (n >= 200 && n < 220) return v1::DEPARTMENT_PRIVACY;
  // 220-239 are the suite's (PolicyChanged): of no one department, recorded
  // in each department's store. Unknown numbers are no department's either.
  return v1::DEPARTMENT_UNSPECIFIED;
}

absl::StatusOr<TimePoint> StatedTime(std::string_view field,
                                     const google::protobuf::Timestamp* stated,
                                     const CommandContext& ctx, std::chrono::seconds grace) {
  if (stated == nullptr) return ctx.now;
  RETURN_IF_ERROR(ValidateTimestamp(field, *stated));
  const TimePoint at = FromProto(*stated);
  if (at > ctx.now + kMaxClockSkew) {
    return absl::InvalidArgumentError(
        Cat(field, ": is in the future; send when it happened (UTC), or leave it unset for now"));
  }
  if (at < ctx.now - grace && ctx.actor.role() != kRoleAdmin) {
    const auto hours = std::chrono::duration_cast<std::chrono::hours>(ctx.now - at).count();
    return absl::PermissionDeniedError(
        Cat(field, ": is ", hours, " hours ago; recording the past (importing history) needs ",
            "the admin role, you act as '", ctx.actor.role(), "'"));
  }
  return at;
}

}  // namespace threadline::domain
