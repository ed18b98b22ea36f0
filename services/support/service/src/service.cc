#include "threadline/support/service.h"

#include "indexes.h"
#include "threadline/common/ids.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/validate.h"

namespace threadline::support {
namespace {

using domain::Cat;
using domain::FromProto;

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

// The ticket's one deadline entry follows its next deadline (the earliest
// at-risk or due time still to report): when the new events move it, the
// old entry goes and the new one comes, in the same append.
command::Decision WithDeadlines(const TicketState& s, const std::string& ticket_id,
                                command::Decision d) {
  TicketState after = s;
  for (const auto& e : d.events) Evolve(after, e);
  const std::optional<TimePoint> before_due = NextDeadline(s);
  const std::optional<TimePoint> after_due = NextDeadline(after);
  if (before_due == after_due) return d;
  if (before_due) d.releases.push_back(index::DueClaim(index::kOpenTicket, *before_due, ticket_id));
  if (after_due) d.claims.push_back(index::DueClaim(index::kOpenTicket, *after_due, ticket_id));
  return d;
}

// The common path of a command on an existing ticket: the ticket's own
// customer comes from its state, and its deadline entries change with it.
template <typename Request, typename Response, typename DecideFn>
absl::StatusOr<Response> OnTicket(const command::Env& env, const command::Invocation& inv,
                                  const Request& r, DecideFn decide) {
  RETURN_IF_ERROR(ValidateCommon(r));
  RETURN_IF_ERROR(domain::ValidateId("ticket_id", r.ticket_id(), kTicketPrefix));
  return command::Run<TicketState, Request, Response>(
      env, inv, r, TicketTarget(r.ticket_id(), ""),
      [&](const TicketState& s,
          const domain::CommandContext& ctx) -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(domain::Events events, decide(s, ctx));
        return WithDeadlines(s, r.ticket_id(), std::move(events));
      },
      [](Response& resp, const command::Outcome& o) { command::FillAck(o, resp.mutable_ack()); });
}

}  // namespace

std::shared_ptr<const SlaPolicy> SupportService::Policy() const {
  static const policy::Holder* defaults = new policy::Holder();
  return (policy_ != nullptr ? policy_ : defaults)->Get();
}

absl::StatusOr<v1::OpenTicketResponse> SupportService::OpenTicket(const command::Invocation& inv,
                                                                  const v1::OpenTicketRequest& r) {
  const std::shared_ptr<const SlaPolicy> policy = Policy();
  // A fresh id per attempt; a retried request_id answers with the first one.
  const std::string ticket_id = NewId(kTicketPrefix, env_.clock ? *env_.clock : Clock::Real());
  return command::Run<TicketState, v1::OpenTicketRequest, v1::OpenTicketResponse>(
      env_, inv, r, TicketTarget(ticket_id, r.customer_id()),
      [&](const TicketState& s,
          const domain::CommandContext& ctx) -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(domain::Events events, Decide(s, r, ctx, ticket_id, *policy));
        return WithDeadlines(s, ticket_id, std::move(events));
      },
      [&](v1::OpenTicketResponse& resp, const command::Outcome& o) {
        resp.set_ticket_id(ticket_id);
        for (const auto& e : o.events) {
          if (e.has_ticket_opened()) *resp.mutable_sla_due_at() = e.ticket_opened().sla_due_at();
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::RecordMissedCallResponse> SupportService::RecordMissedCall(
    const command::Invocation& inv, const v1::RecordMissedCallRequest& r) {
  const std::shared_ptr<const SlaPolicy> policy = Policy();
  // A new callback's customer is whoever the directory says owns the
  // number; the index is read before the write, the aggregate inside it.
  RETURN_IF_ERROR(ValidateCommon(r));
  ASSIGN_OR_RETURN(std::string caller, domain::NormalizePhone("caller_number", r.caller_number()));
  // Until the call is appended: no directory update in between (see there).
  std::lock_guard link_lock(index::PhoneLinkMutex());
  ASSIGN_OR_RETURN(std::optional<std::string> customer, index::LookupPhone(*env_.store, caller));
  const std::string callback_id = NewId(kCallbackPrefix, env_.clock ? *env_.clock : Clock::Real());
  PhoneLookup lookup = [&customer](const std::string&) { return customer; };
  return command::Run<CallbackState, v1::RecordMissedCallRequest, v1::RecordMissedCallResponse>(
      env_, inv, r, CallbackTarget(callback_id, customer.value_or("")),
      [&](const CallbackState& s,
          const domain::CommandContext& ctx) -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(command::Decision d, Decide(s, r, ctx, callback_id, lookup, *policy));
        for (const auto& e : d.events) {
          if (!e.has_missed_call_recorded()) continue;
          const auto& p = e.missed_call_recorded();
          d.claims.push_back(
              index::DueClaim(index::kOpenCallback, FromProto(p.sla_due_at()), callback_id));
          // Kept under the number until a customer with it is registered.
          if (p.customer_id().empty()) {
            d.claims.push_back(
                {index::kPendingMissedCall, p.caller_number() + "/" + callback_id, callback_id});
          }
        }
        return d;
      },
      [&](v1::RecordMissedCallResponse& resp, const command::Outcome& o) {
        resp.set_callback_id(callback_id);
        for (const auto& e : o.events) {
          if (!e.has_missed_call_recorded()) continue;
          resp.set_customer_id(e.missed_call_recorded().customer_id());
          *resp.mutable_sla_due_at() = e.missed_call_recorded().sla_due_at();
        }
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::AddInteractionResponse> SupportService::AddInteraction(
    const command::Invocation& inv, const v1::AddInteractionRequest& r) {
  const std::shared_ptr<const SlaPolicy> policy = Policy();
  return OnTicket<v1::AddInteractionRequest, v1::AddInteractionResponse>(
      env_, inv, r, [&](const TicketState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, *policy);
      });
}

absl::StatusOr<v1::SetTicketWaitingResponse> SupportService::SetTicketWaiting(
    const command::Invocation& inv, const v1::SetTicketWaitingRequest& r) {
  const std::shared_ptr<const SlaPolicy> policy = Policy();
  return OnTicket<v1::SetTicketWaitingRequest, v1::SetTicketWaitingResponse>(
      env_, inv, r, [&](const TicketState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, *policy);
      });
}

absl::StatusOr<v1::ResumeTicketResponse> SupportService::ResumeTicket(
    const command::Invocation& inv, const v1::ResumeTicketRequest& r) {
  const std::shared_ptr<const SlaPolicy> policy = Policy();
  return OnTicket<v1::ResumeTicketRequest, v1::ResumeTicketResponse>(
      env_, inv, r, [&](const TicketState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, *policy);
      });
}

absl::StatusOr<v1::AssignTicketResponse> SupportService::AssignTicket(
    const command::Invocation& inv, const v1::AssignTicketRequest& r) {
  return OnTicket<v1::AssignTicketRequest, v1::AssignTicketResponse>(
      env_, inv, r,
      [&](const TicketState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); });
}

absl::StatusOr<v1::EscalateTicketResponse> SupportService::EscalateTicket(
    const command::Invocation& inv, const v1::EscalateTicketRequest& r) {
  const std::shared_ptr<const SlaPolicy> policy = Policy();
  return OnTicket<v1::EscalateTicketRequest, v1::EscalateTicketResponse>(
      env_, inv, r, [&](const TicketState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, *policy);
      });
}

absl::StatusOr<v1::ResolveTicketResponse> SupportService::ResolveTicket(
    const command::Invocation& inv, const v1::ResolveTicketRequest& r) {
  return OnTicket<v1::ResolveTicketRequest, v1::ResolveTicketResponse>(
      env_, inv, r,
      [&](const TicketState& s, const domain::CommandContext& ctx) { return Decide(s, r, ctx); });
}

absl::StatusOr<v1::ReopenTicketResponse> SupportService::ReopenTicket(
    const command::Invocation& inv, const v1::ReopenTicketRequest& r) {
  const std::shared_ptr<const SlaPolicy> policy = Policy();
  return OnTicket<v1::ReopenTicketRequest, v1::ReopenTicketResponse>(
      env_, inv, r, [&](const TicketState& s, const domain::CommandContext& ctx) {
        return Decide(s, r, ctx, *policy);
      });
}

absl::StatusOr<v1::ScheduleCallbackResponse> SupportService::ScheduleCallback(
    const command::Invocation& inv, const v1::ScheduleCallbackRequest& r) {
  const std::string callback_id = NewId(kCallbackPrefix, env_.clock ? *env_.clock : Clock::Real());
  return command::Run<CallbackState, v1::ScheduleCallbackRequest, v1::ScheduleCallbackResponse>(
      env_, inv, r, CallbackTarget(callback_id, r.customer_id()),
      [&](const CallbackState& s,
          const domain::CommandContext& ctx) -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(command::Decision d, Decide(s, r, ctx, callback_id));
        for (const auto& e : d.events) {
          if (!e.has_callback_scheduled()) continue;
          d.claims.push_back(index::DueClaim(
              index::kOpenCallback, FromProto(e.callback_scheduled().due_at()), callback_id));
        }
        return d;
      },
      [&](v1::ScheduleCallbackResponse& resp, const command::Outcome& o) {
        resp.set_callback_id(callback_id);
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::CompleteCallbackResponse> SupportService::CompleteCallback(
    const command::Invocation& inv, const v1::CompleteCallbackRequest& r) {
  RETURN_IF_ERROR(ValidateCommon(r));
  RETURN_IF_ERROR(domain::ValidateId("callback_id", r.callback_id(), kCallbackPrefix));
  return command::Run<CallbackState, v1::CompleteCallbackRequest, v1::CompleteCallbackResponse>(
      env_, inv, r, CallbackTarget(r.callback_id(), ""),
      [&](const CallbackState& s,
          const domain::CommandContext& ctx) -> absl::StatusOr<command::Decision> {
        ASSIGN_OR_RETURN(command::Decision d, Decide(s, r, ctx));
        // Done: its deadline leaves the index with it.
        if (!d.events.empty() && s.due_at) {
          d.releases.push_back(index::DueClaim(index::kOpenCallback, *s.due_at, r.callback_id()));
        }
        return d;
      },
      [](v1::CompleteCallbackResponse& resp, const command::Outcome& o) {
        command::FillAck(o, resp.mutable_ack());
      });
}

absl::StatusOr<v1::Ticket> SupportService::GetTicket(const v1::GetTicketRequest& r) {
  RETURN_IF_ERROR(domain::ValidateId("ticket_id", r.ticket_id(), kTicketPrefix));
  ASSIGN_OR_RETURN(auto s,
                   command::Load<TicketState>(*env_.store, TicketTarget(r.ticket_id(), "").Stream(),
                                              Cat("ticket ", r.ticket_id())));
  return ToView(s);
}

}  // namespace threadline::support
