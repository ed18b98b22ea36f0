#include "threadline/policy/record.h"

#include <utility>

#include "threadline/common/status.h"
#include "threadline/domain/validate.h"

namespace threadline::policy {
namespace {

// A policy stream folded: its last record.
struct PolicyState {
  uint64_t version = 0;
  std::optional<v1::PolicyChanged> last;
};

void Evolve(PolicyState& s, const v1::EventEnvelope& e) {
  s.version = e.version();
  if (e.has_policy_changed()) s.last = e.policy_changed();
}

command::Target TargetOf(const std::string& department) {
  return command::Target{kPolicyAggregate, department, ""};
}

// Whether `text` may go on the event as it is: every consumer's door check
// (domain::ValidateEnvelope) refuses an event whose text is not UTF-8 or
// longer than its bound, and such an event must never be stored.
bool Fits(const std::string& text, size_t max) {
  return text.size() <= max && domain::IsValidUtf8(text) && text.find('\0') == std::string::npos;
}

}  // namespace

absl::StatusOr<std::optional<v1::PolicyChanged>> LastRecorded(eventstore::EventStore& store,
                                                              const std::string& department) {
  ASSIGN_OR_RETURN(PolicyState s, command::Fold<PolicyState>(store, TargetOf(department).Stream()));
  return std::move(s.last);
}

absl::StatusOr<Recorded> RecordPolicy(const command::Env& env, const Policy& policy,
                                      const std::string& file) {
  const command::Target target = TargetOf(env.service);
  ASSIGN_OR_RETURN(PolicyState before, command::Fold<PolicyState>(*env.store, target.Stream()));
  Recorded r;
  r.previous_digest = before.last ? before.last->digest() : "";
  r.version = before.version;
  if (before.last && before.last->digest() == policy.digest()) return r;

  // The n-th policy of this stream: a retry of this very write replays, and
  // a later return to the same policy (A, B, A) is a new record.
  const std::string nth = "policy/" + env.service + "/" + std::to_string(before.version + 1);
  const std::string key = nth + "/" + policy.digest();
  command::Write w;
  w.target = target;
  w.expected_version = before.version;
  w.stamp.channel = v1::CHANNEL_SYSTEM;
  w.stamp.actor.set_principal("threadline-policy");
  w.stamp.actor.set_role("system");
  // Ids are at most domain::kMaxIdLength: the key with its digest is not.
  w.stamp.correlation_id = nth;
  w.stamp.causation_id = nth;
  w.idempotency_key = key;
  w.fingerprint = key;
  w.record_empty = false;
  auto decide = [&](const PolicyState& s,
                    const domain::CommandContext&) -> absl::StatusOr<command::Decision> {
    if (s.last && s.last->digest() == policy.digest()) return command::Decision();
    v1::EventEnvelope e;
    v1::PolicyChanged* p = e.mutable_policy_changed();
    p->set_digest(policy.digest());
    if (Fits(policy.source(), domain::kMaxPolicySourceBytes)) p->set_source(policy.source());
    if (Fits(file, domain::kMaxTextLength)) p->set_file(file);
    if (s.last) p->set_previous_digest(s.last->digest());
    return command::Decision(domain::Events{std::move(e)});
  };
  ASSIGN_OR_RETURN(command::Outcome o, command::WriteAggregate<PolicyState>(env, w, decide));
  r.appended = !o.replayed && !o.events.empty();
  r.version = o.version;
  return r;
}

}  // namespace threadline::policy
