#pragma once

// PolicyChanged events: which policy a department store ran with, and from
// when. Each department store keeps them on its own stream
// ("policy-<department>"), without a customer, written through the one
// write path. The decisions a policy makes (due times, credits applied or
// pending) are on the decisions' own events, so these are the audit of
// which policy was in force, never an input to a replay.
//
// Thread-safe as the write path is: writers of one store take turns per
// stream.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/command/write.h"
#include "threadline/policy/policy.h"
#include "threadline/v1/policy.pb.h"

namespace threadline::policy {

inline constexpr char kPolicyAggregate[] = "policy";

// What one recording did.
struct Recorded {
  bool appended = false;        // false: the store's last record already named it
  std::string previous_digest;  // the last record's digest before; empty: none
  uint64_t version = 0;         // the stream's version after it
};

// The last PolicyChanged `store` holds on `department`'s stream, if any.
[[nodiscard]] absl::StatusOr<std::optional<v1::PolicyChanged>> LastRecorded(
    eventstore::EventStore& store, const std::string& department);

// Records `policy` (read from `file`; empty: the shipped policy) on the
// stream of department `env.service` in `env.store`, unless the last record
// there has its digest: starting again with the same file records nothing.
// The source goes on the event when it fits (domain::kMaxPolicySourceBytes,
// valid UTF-8, no NUL); otherwise the digest alone names it.
[[nodiscard]] absl::StatusOr<Recorded> RecordPolicy(const command::Env& env, const Policy& policy,
                                                    const std::string& file);

}  // namespace threadline::policy
