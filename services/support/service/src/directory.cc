// The directory reaction: sales' CustomerRegistered -> support's directory
// claims, and MissedCallLinked for the calls that waited under the
// customer's numbers.
//
// Re-delivery must link each call once. The reactor keys its appends by
// (causing event, position in the reaction list), so the list has to be the
// same on every delivery of an event. It is frozen the first time: the
// directory append that claims the numbers also drops the pending entries
// and records the callback ids to link as its idempotent response, which
// every later delivery gets back unchanged. A call already linked keeps its
// place in the list with no events.

#include <set>

#include "indexes.h"
#include "threadline/common/log.h"
#include "threadline/domain/validate.h"
#include "threadline/support/service.h"

namespace threadline::support {
namespace {

using domain::ToProto;

absl::StatusOr<CallbackState> LoadCallback(eventstore::EventStore& store, const std::string& id) {
  return command::Fold<CallbackState>(store, std::string(kCallbackAggregate) + "-" + id);
}

bool Waiting(const CallbackState& s) {
  return s.exists && s.from_missed_call && s.customer_id.empty() && s.called_at && s.due_at;
}

Directory::PendingCall Pending(const CallbackState& s) {
  return {s.callback_id, ToProto(*s.called_at), ToProto(*s.due_at)};
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += id + "\n";
  return out;
}

std::vector<std::string> SplitIds(const std::string& joined) {
  std::vector<std::string> ids;
  size_t start = 0;
  for (size_t end; (end = joined.find('\n', start)) != std::string::npos; start = end + 1) {
    ids.push_back(joined.substr(start, end - start));
  }
  return ids;
}

// Claims this registration's numbers and e-mails and freezes the list of
// calls to link (see the file comment); returns that list.
absl::StatusOr<std::vector<std::string>> UpdateDirectory(const command::Env& env,
                                                         const v1::EventEnvelope& in,
                                                         const std::string& customer,
                                                         const domain::CommandContext& ctx) {
  eventstore::EventStore& store = *env.store;
  const auto& p = in.customer_registered();
  eventstore::StateWrite append;
  append.idempotency_key = std::string(kDirectoryConsumer) + "/" + in.event_id() + "/directory";
  append.request_fingerprint = append.idempotency_key;

  // The directory as it stood before this registration, for its numbers.
  Directory before;
  std::set<std::string> seen;
  for (const auto& raw : p.phone_numbers()) {
    auto phone = domain::NormalizePhone("phone", raw);
    if (!phone.ok() || !seen.insert(*phone).second) continue;
    ASSIGN_OR_RETURN(auto owners, index::PhoneOwners(store, *phone));
    for (const auto& owner : owners) {
      // A number someone else registered too is shared: the domain keeps
      // its calls unlinked rather than give them to the wrong person.
      if (owner != customer) before.customer_by_phone[*phone] = owner;
    }
    ASSIGN_OR_RETURN(auto pending, index::PendingCalls(store, *phone));
    for (const auto& id : pending) {
      ASSIGN_OR_RETURN(CallbackState s, LoadCallback(store, id));
      if (Waiting(s)) {
        before.pending_by_phone[*phone].push_back(Pending(s));
      } else {
        // Linked or gone: the entry is stale.
        append.releases.push_back({index::kPendingMissedCall, *phone + "/" + id, id});
      }
    }
    append.claims.push_back({index::kDirPhone, *phone + "/" + customer, customer});
  }
  for (const auto& raw : p.emails()) {
    if (auto email = domain::NormalizeEmail("email", raw); email.ok()) {
      append.claims.push_back({index::kDirEmail, *email + "/" + customer, customer});
    }
  }

  ASSIGN_OR_RETURN(domain::Events links, ReactToCustomerRegistered(before, in, ctx));
  std::vector<std::string> ids;
  for (const auto& e : links) {
    const auto& link = e.missed_call_linked();
    ids.push_back(link.callback_id());
    append.releases.push_back({index::kPendingMissedCall,
                               link.caller_number() + "/" + link.callback_id(),
                               link.callback_id()});
  }
  append.response = JoinIds(ids);
  ASSIGN_OR_RETURN(auto result, store.Write(std::move(append)));
  // On a re-delivery: the list of the first delivery.
  return SplitIds(result.response);
}

}  // namespace

command::ReactFn NewDirectoryReaction(command::Env env) {
  return [env](const v1::EventEnvelope& in) -> absl::StatusOr<std::vector<command::Reaction>> {
    std::vector<command::Reaction> reactions;
    if (!in.has_customer_registered()) return reactions;
    const auto& p = in.customer_registered();
    const std::string customer = !p.customer_id().empty() ? p.customer_id() : in.customer_id();
    if (customer.empty()) return reactions;  // nobody to attach calls to
    domain::CommandContext ctx;
    ctx.now = (env.clock ? *env.clock : Clock::Real()).Now();
    ctx.channel = v1::CHANNEL_SYSTEM;
    std::vector<std::string> ids;
    {
      // No missed call recorded between reading the parked calls and
      // claiming the numbers (index::PhoneLinkMutex).
      std::lock_guard link_lock(index::PhoneLinkMutex());
      ASSIGN_OR_RETURN(ids, UpdateDirectory(env, in, customer, ctx));
    }
    for (const auto& id : ids) {
      // Decided on the callback as it stands when written: the domain links
      // it, from a directory of this one call, while it still waits.
      reactions.push_back(command::ReactOn<CallbackState>(
          command::Target{std::string(kCallbackAggregate), id, customer},
          [in](const CallbackState& s,
               const domain::CommandContext& ctx) -> absl::StatusOr<command::Decision> {
            if (!Waiting(s)) return command::Decision();
            Directory one;
            one.pending_by_phone[s.phone_number].push_back(Pending(s));
            return ReactToCustomerRegistered(one, in, ctx);
          }));
    }
    return reactions;
  };
}

}  // namespace threadline::support
