#include "threadline/support/service.h"

#include "indexes.h"
#include "threadline/common/ids.h"
#include "threadline/common/log.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/validate.h"

namespace threadline::support {
namespace {

using domain::Cat;
using domain::FromProto;

const Logger& Log() {
  static const Logger* log = new Logger("support");
  return *log;
}

// Non-overloaded names for the runner's std::function parameters.
void EvolveTicket(TicketState& s, const v1::EventEnvelope& e) { Evolve(s, e); }
void EvolveCallback(CallbackState& s, const v1::EventEnvelope& e) { Evolve(s, e); }

command::Target TicketTarget(const std::string& ticket_id, const std::string& customer_id) {
  return command::Target{std::string(kTicketAggregate), ticket_id, customer_id};
}

command::Target CallbackTarget(const std::string& callback_id, const std::string& customer_id) {
  return command::Target{std::string(kCallbackAggregate), callback_id, customer_id};
}

// The runner validates these first; the lookups this service does before
// the runner starts check them first too, so every command reports errors
// in one order (request_id, channel, then the command's own fields).
template <typename Request>
absl::Status ValidateCommon(const Request& r) {
  RETURN_IF_ERROR(domain::ValidateRequestId(r.request_id()));
  return domain::ValidateChannel("channel", r.channel());
}

// The runner stamps every event with the target's customer before it loads
// the aggregate, so commands on an existing ticket read its owner first. A
// ticket never changes hands: its first event says whose it is. Empty for a
// ticket that does not exist; the decision then answers NOT_FOUND.
absl::StatusOr<std::string> TicketCustomer(eventstore::EventStore& store,
                                           const std::string& ticket_id) {
  ASSIGN_OR_RETURN(auto first,
                   store.ReadStream(TicketTarget(ticket_id, "").Stream(), StreamVersion(0), 1));
  return first.empty() ? std::string() : first[0].customer_id();
}

// A callback can gain its customer (MissedCallLinked), so its owner is read
// from the folded state; see CallbackCustomerMoved.
absl::StatusOr<std::string> CallbackCustomer(eventstore::EventStore& store,
                                             const std::string& callback_id) {
  ASSIGN_OR_RETURN(auto events, store.ReadStream(CallbackTarget(callback_id, "").Stream()));
  CallbackState s;
  for (const auto& e : events) Evolve(s, e);
  return s.customer_id;
}

// A link landed between reading the callback's owner and deciding: the
// events would carry the old (empty) customer. Rare; the client retries.
absl::Status CallbackCustomerMoved(const CallbackState& s, const command::Target& target) {
  if (s.exists && s.customer_id != target.customer_id) {
    return absl::AbortedError(
        Cat("callback ", s.callback_id, " was just linked to a customer; retry the request"));
  }
  return absl::OkStatus();
}

void ReleaseOrLog(eventstore::EventStore& store, eventstore::UniqueClaim claim) {
  std::string what = claim.index + " " + claim.value;
  if (absl::Status s = index::Release(store, {std::move(claim)}); !s.ok()) {
    // The SLA timer drops the stale entry when its time comes.
    Log().Warn("could not drop a stale index entry", {{"entry", what}, {"error", s.ToString()}});
  }
}

// The common path of a command on an existing ticket. `seen` receives the
// state the (last) decision was made on.
template <typename Request, typename Response>
absl::StatusOr<Response> OnTicket(
    const command::Env& env, const command::Invocation& inv, const Request& r,
    const std::function<absl::StatusOr<domain::Events>(const TicketState&,
                                                       const domain::CommandContext&)>& decide,
    const command::ClaimsFn& claims = nullptr, TicketState* seen = nullptr) {
  RETURN_IF_ERROR(ValidateCommon(r));
  RETURN_IF_ERROR(domain::ValidateId("ticket_id", r.ticket_id(), kTicketPrefix));
  ASSIGN_OR_RETURN(std::string customer, TicketCustomer(*env.store, r.ticket_id()));
  return command::Run<TicketState, Request, Response>(
      env, inv, r, TicketTarget(r.ticket_id(), customer), EvolveTicket,
      [&](const TicketState& s, const domain::CommandContext& ctx) {
        if (seen) *seen = s;
        return decide(s, ctx);
      },
      [](Response& resp, const command::Outcome& o) { command::FillAck(o, resp.mutable_ack()); },
      claims);
}

// The deadline claim for a due time a ticket event sets, if it sets one.
std::optional<TimePoint> TicketDue(const v1::EventEnvelope& e) {
  if (e.has_ticket_opened()) return FromProto(e.ticket_opened().sla_due_at());
  if (e.has_ticket_escalated() && e.ticket_escalated().has_sla_due_at()) {
    return FromProto(e.ticket_escalated().sla_due_at());
  }
  if (e.has_ticket_reopened()) return FromProto(e.ticket_reopened().sla_due_at());
  return std::nullopt;
}

command::ClaimsFn TicketDueClaims(const std::string& ticket_id,
                                  std::optional<TimePoint>* new_due = nullptr) {
  return [ticket_id, new_due](const domain::Events& events) {
    std::vector<eventstore::UniqueClaim> claims;
    for (const auto& e : events) {
      if (auto due = TicketDue(e)) {
        claims.push_back(index::DueClaim(index::kOpenTicket, *due, ticket_id));
        if (new_due) *new_due = due;
      }
    }
    return claims;
  };
}

}  // namespace

absl::StatusOr<v1::OpenTicketResponse> SupportService::OpenTicket(const command::Invocation& inv,
                                                                  const v1::OpenTicketRequest& r) {
  // A fresh id per attempt; a retried request_id answers with the first one.
  const std::string ticket_id = NewId(kTicketPrefix, env_.clock ? *env_.clock : Clock::Real());
  return command::Run<TicketState, v1::OpenTicketRequest, v1::OpenTicketResponse>(
      env_, inv, r, TicketTarget(ticket_id, r.customer_id()), EvolveTicket,
      [&](const TicketState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, ticket_id, policy_);
      },
      [&](v1::OpenTicketResponse& resp, const command::Outcome& o) {
        resp.set_ticket_id(ticket_id);
        for (const auto& e : o.events) {
          if (e.has_ticket_opened()) *resp.mutable_sla_due_at() = e.ticket_opened().sla_due_at();
        }
        command::FillAck(o, resp.mutable_ack());
      },
      TicketDueClaims(ticket_id));
}

absl::StatusOr<v1::RecordMissedCallResponse> SupportService::RecordMissedCall(
    const command::Invocation& inv, const v1::RecordMissedCallRequest& r) {
  // The caller is looked up before the command runs: the runner stamps the
  // events with the customer it is given.
  RETURN_IF_ERROR(ValidateCommon(r));
  ASSIGN_OR_RETURN(std::string caller, domain::NormalizePhone("caller_number", r.caller_number()));
  // Until the call is appended: no directory update in between (see there).
  std::lock_guard link_lock(index::PhoneLinkMutex());
  ASSIGN_OR_RETURN(std::optional<std::string> customer, index::LookupPhone(*env_.store, caller));
  const std::string callback_id = NewId(kCallbackPrefix, env_.clock ? *env_.clock : Clock::Real());
  PhoneLookup lookup = [&customer](const std::string&) { return customer; };
  return command::Run<CallbackState, v1::RecordMissedCallRequest, v1::RecordMissedCallResponse>(
      env_, inv, r, CallbackTarget(callback_id, customer.value_or("")), EvolveCallback,
      [&](const CallbackState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, callback_id, lookup, policy_);
      },
      [&](v1::RecordMissedCallResponse& resp, const command::Outcome& o) {
        resp.set_callback_id(callback_id);
        for (const auto& e : o.events) {
          if (!e.has_missed_call_recorded()) continue;
          resp.set_customer_id(e.missed_call_recorded().customer_id());
          *resp.mutable_sla_due_at() = e.missed_call_recorded().sla_due_at();
        }
        command::FillAck(o, resp.mutable_ack());
      },
      [&](const domain::Events& events) {
        std::vector<eventstore::UniqueClaim> claims;
        for (const auto& e : events) {
          if (!e.has_missed_call_recorded()) continue;
          const auto& p = e.missed_call_recorded();
          claims.push_back(
              index::DueClaim(index::kOpenCallback, FromProto(p.sla_due_at()), callback_id));
          // Kept under the number until a customer with it is registered.
          if (p.customer_id().empty()) {
            claims.push_back(
                {index::kPendingMissedCall, p.caller_number() + "/" + callback_id, callback_id});
          }
        }
        return claims;
      });
}

absl::StatusOr<v1::AddInteractionResponse> SupportService::AddInteraction(
    const command::Invocation& inv, const v1::AddInteractionRequest& r) {
  return OnTicket<v1::AddInteractionRequest, v1::AddInteractionResponse>(
      env_, inv, r,
      [&](const TicketState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); });
}

absl::StatusOr<v1::AssignTicketResponse> SupportService::AssignTicket(
    const command::Invocation& inv, const v1::AssignTicketRequest& r) {
  return OnTicket<v1::AssignTicketRequest, v1::AssignTicketResponse>(
      env_, inv, r,
      [&](const TicketState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); });
}

absl::StatusOr<v1::EscalateTicketResponse> SupportService::EscalateTicket(
    const command::Invocation& inv, const v1::EscalateTicketRequest& r) {
  TicketState seen;
  std::optional<TimePoint> new_due;
  ASSIGN_OR_RETURN(auto resp, (OnTicket<v1::EscalateTicketRequest, v1::EscalateTicketResponse>(
                                  env_, inv, r,
                                  [&](const TicketState& s, const domain::CommandContext& ctx) {
                                    return Decide(s, r, ctx, policy_);
                                  },
                                  TicketDueClaims(r.ticket_id(), &new_due), &seen)));
  // The earlier deadline no longer applies (escalation may keep it, though).
  if (!resp.ack().replayed() && seen.sla_due_at && new_due && *seen.sla_due_at != *new_due) {
    ReleaseOrLog(*env_.store, index::DueClaim(index::kOpenTicket, *seen.sla_due_at, r.ticket_id()));
  }
  return resp;
}

absl::StatusOr<v1::ResolveTicketResponse> SupportService::ResolveTicket(
    const command::Invocation& inv, const v1::ResolveTicketRequest& r) {
  TicketState seen;
  ASSIGN_OR_RETURN(auto resp, (OnTicket<v1::ResolveTicketRequest, v1::ResolveTicketResponse>(
                                  env_, inv, r,
                                  [&](const TicketState& s, const domain::CommandContext& ctx) {
                                    return Decide(s, r, ctx);
                                  },
                                  nullptr, &seen)));
  if (!resp.ack().replayed() && seen.sla_due_at) {
    ReleaseOrLog(*env_.store, index::DueClaim(index::kOpenTicket, *seen.sla_due_at, r.ticket_id()));
  }
  return resp;
}

absl::StatusOr<v1::ReopenTicketResponse> SupportService::ReopenTicket(
    const command::Invocation& inv, const v1::ReopenTicketRequest& r) {
  return OnTicket<v1::ReopenTicketRequest, v1::ReopenTicketResponse>(
      env_, inv, r,
      [&](const TicketState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, policy_);
      },
      TicketDueClaims(r.ticket_id()));
}

absl::StatusOr<v1::ScheduleCallbackResponse> SupportService::ScheduleCallback(
    const command::Invocation& inv, const v1::ScheduleCallbackRequest& r) {
  const std::string callback_id = NewId(kCallbackPrefix, env_.clock ? *env_.clock : Clock::Real());
  return command::Run<CallbackState, v1::ScheduleCallbackRequest, v1::ScheduleCallbackResponse>(
      env_, inv, r, CallbackTarget(callback_id, r.customer_id()), EvolveCallback,
      [&](const CallbackState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, callback_id);
      },
      [&](v1::ScheduleCallbackResponse& resp, const command::Outcome& o) {
        resp.set_callback_id(callback_id);
        command::FillAck(o, resp.mutable_ack());
      },
      [&](const domain::Events& events) {
        std::vector<eventstore::UniqueClaim> claims;
        for (const auto& e : events) {
          if (!e.has_callback_scheduled()) continue;
          claims.push_back(index::DueClaim(
              index::kOpenCallback, FromProto(e.callback_scheduled().due_at()), callback_id));
        }
        return claims;
      });
}

absl::StatusOr<v1::CompleteCallbackResponse> SupportService::CompleteCallback(
    const command::Invocation& inv, const v1::CompleteCallbackRequest& r) {
  RETURN_IF_ERROR(ValidateCommon(r));
  RETURN_IF_ERROR(domain::ValidateId("callback_id", r.callback_id(), kCallbackPrefix));
  ASSIGN_OR_RETURN(std::string customer, CallbackCustomer(*env_.store, r.callback_id()));
  const command::Target target = CallbackTarget(r.callback_id(), customer);
  CallbackState seen;
  ASSIGN_OR_RETURN(
      auto resp,
      (command::Run<CallbackState, v1::CompleteCallbackRequest, v1::CompleteCallbackResponse>(
          env_, inv, r, target, EvolveCallback,
          [&](const CallbackState& s,
              const domain::CommandContext& ctx) -> absl::StatusOr<domain::Events> {
            seen = s;
            RETURN_IF_ERROR(CallbackCustomerMoved(s, target));
            return Decide(s, r, ctx);
          },
          [](v1::CompleteCallbackResponse& resp, const command::Outcome& o) {
            command::FillAck(o, resp.mutable_ack());
          })));
  if (!resp.ack().replayed() && seen.due_at) {
    ReleaseOrLog(*env_.store, index::DueClaim(index::kOpenCallback, *seen.due_at, r.callback_id()));
  }
  return resp;
}

absl::StatusOr<v1::Ticket> SupportService::GetTicket(const v1::GetTicketRequest& r) {
  RETURN_IF_ERROR(domain::ValidateId("ticket_id", r.ticket_id(), kTicketPrefix));
  TicketState s;
  RETURN_IF_ERROR(command::Load(
      *env_.store, TicketTarget(r.ticket_id(), "").Stream(),
      [&s](const v1::EventEnvelope& e) { Evolve(s, e); }, Cat("ticket ", r.ticket_id())));
  return ToView(s);
}

}  // namespace threadline::support
