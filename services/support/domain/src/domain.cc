#include "threadline/support/domain.h"

#include <algorithm>
#include <cmath>

#include "threadline/common/status.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/validate.h"

namespace threadline::support {
namespace {

using domain::Cat;
using domain::FromProto;
using domain::ToProto;
using domain::ValidateText;

// A phone system may report a missed call late (a queue, an outage); older
// than this it is history being imported.
constexpr auto kLateCallReport = std::chrono::hours(24);

std::string TierName(v1::SupportTier tier) {
  std::string name = v1::SupportTier_Name(tier);
  constexpr std::string_view kPrefix = "SUPPORT_TIER_";
  return name.rfind(kPrefix, 0) == 0 ? name.substr(kPrefix.size()) : name;
}

absl::Status ValidateTicketId(const std::string& id) {
  return domain::ValidateId("ticket_id", id, kTicketPrefix);
}

absl::Status RequireTicket(const TicketState& s) {
  if (!s.exists) {
    return absl::NotFoundError("ticket not found; check the ticket_id or open a ticket first");
  }
  return absl::OkStatus();
}

absl::Status RequireOpenTicket(const TicketState& s, std::string_view what) {
  RETURN_IF_ERROR(RequireTicket(s));
  if (s.status != v1::TICKET_STATUS_OPEN) {
    return absl::FailedPreconditionError(Cat("ticket ", s.ticket_id, " is resolved; reopen it (",
                                             "ReopenTicket) before you ", what));
  }
  return absl::OkStatus();
}

void Bump(uint64_t& version, const v1::EventEnvelope& e) {
  version = e.version() != 0 ? e.version() : version + 1;
}

std::optional<std::string> Find(const std::map<std::string, std::string>& map,
                                const std::set<std::string>& ambiguous, const std::string& key) {
  if (ambiguous.contains(key)) return std::nullopt;
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

// Records key -> customer; a key claimed by two customers becomes ambiguous.
void Claim(std::map<std::string, std::string>& map, std::set<std::string>& ambiguous,
           const std::string& key, const std::string& customer_id) {
  auto [it, inserted] = map.emplace(key, customer_id);
  if (!inserted && it->second != customer_id) ambiguous.insert(key);
}

TimePoint TimeOf(const v1::EventEnvelope& e) { return FromProto(e.occurred_at()); }

void SetClock(const google::protobuf::Timestamp& due, const google::protobuf::Timestamp& at_risk,
              TicketState::SlaClock& c) {
  c.due = FromProto(due);
  c.at_risk = at_risk.seconds() != 0 || at_risk.nanos() != 0
                  ? std::optional<TimePoint>(FromProto(at_risk))
                  : std::nullopt;
}

// Applies the clocks an event decided; a clock it leaves unset keeps going.
void ApplyClocks(const v1::SlaClocks& c, TicketState& s) {
  if (c.has_first_response_due_at()) {
    SetClock(c.first_response_due_at(), c.first_response_at_risk_at(), s.first_response);
  }
  if (c.has_resolution_due_at()) {
    SetClock(c.resolution_due_at(), c.resolution_at_risk_at(), s.resolution_clock);
  }
}

// A clock of `target` that starts (or resumes) at `at` with `left` of open
// time: due when it runs out, at risk when only the policy's remaining share
// of the whole target is left (at once if less is left already).
std::pair<TimePoint, TimePoint> ClockFrom(const policy::Target& target, double at_risk_share,
                                          TimePoint at, std::chrono::seconds left) {
  // Rounded to the second: 80 % of 2 h is 96 minutes, not a second more.
  const std::chrono::seconds warn_after(
      std::llround(static_cast<double>(target.within.count()) * at_risk_share));
  const std::chrono::seconds margin = target.within - warn_after;
  const TimePoint due = target.Resume(at, left);
  const TimePoint at_risk = left > margin ? target.Resume(at, left - margin) : at;
  return {due, at_risk};
}

void StartClock(const policy::Target& target, const SlaPolicy& policy, TimePoint at,
                std::chrono::seconds left, google::protobuf::Timestamp* due,
                google::protobuf::Timestamp* at_risk) {
  auto [d, r] = ClockFrom(target, policy.AtRiskAt(), at, left);
  *due = ToProto(d);
  *at_risk = ToProto(r);
}

// The resolution target at the ticket's tier: its category's and priority's
// at L1, the tier's own after an escalation.
const policy::Target& ResolutionTarget(const TicketState& s, const SlaPolicy& policy) {
  if (s.tier == v1::SUPPORT_TIER_L2 || s.tier == v1::SUPPORT_TIER_SUPERVISOR) {
    return policy.EscalatedTarget(s.tier);
  }
  return *policy.TicketTarget(s.category, s.priority).resolution;
}

// The first-response target; a policy that has none any more counts the
// rest of a running clock in wall-clock time.
policy::Target FirstResponseTarget(const TicketState& s, const SlaPolicy& policy) {
  const auto& t = policy.TicketTarget(s.category, s.priority).first_response;
  return t ? *t : policy::Target{};
}

// The clocks of a waiting ticket, running again from `at`. A clock that had
// nothing left keeps its due time: it is overdue and breaches (once).
v1::EventEnvelope Resumed(const TicketState& s, TimePoint at, bool by_customer,
                          const SlaPolicy& policy) {
  v1::EventEnvelope e;
  auto* p = e.mutable_ticket_resumed();
  p->set_ticket_id(s.ticket_id);
  p->set_by_customer(by_customer);
  auto* c = p->mutable_clocks();
  if (s.first_response_running()) {
    if (s.first_response.remaining.count() > 0) {
      StartClock(FirstResponseTarget(s, policy), policy, at, s.first_response.remaining,
                 c->mutable_first_response_due_at(), c->mutable_first_response_at_risk_at());
    } else {
      *c->mutable_first_response_due_at() = ToProto(*s.first_response.due);
    }
  }
  if (s.resolution_clock.due) {
    if (s.resolution_clock.remaining.count() > 0) {
      StartClock(ResolutionTarget(s, policy), policy, at, s.resolution_clock.remaining,
                 c->mutable_resolution_due_at(), c->mutable_resolution_at_risk_at());
    } else {
      *c->mutable_resolution_due_at() = ToProto(*s.resolution_clock.due);
    }
  }
  return e;
}

// The moments of one clock still to report, earliest first.
void PendingMoments(const TicketState::SlaClock& c, const char* target,
                    std::vector<std::pair<TimePoint, std::pair<const char*, bool>>>& out) {
  if (!c.due || c.breached == c.due) return;
  if (c.at_risk && c.at_risk_reported != c.due && *c.at_risk < *c.due) {
    out.push_back({*c.at_risk, {target, false}});
  }
  out.push_back({*c.due, {target, true}});
}

std::vector<std::pair<TimePoint, std::pair<const char*, bool>>> Pending(const TicketState& s) {
  std::vector<std::pair<TimePoint, std::pair<const char*, bool>>> out;
  if (!s.open() || s.waiting) return out;
  if (s.first_response_running()) PendingMoments(s.first_response, kFirstResponseTarget, out);
  PendingMoments(s.resolution_clock, kResolutionTarget, out);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// ---- Ticket ----

void Evolve(TicketState& s, const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kTicketOpened: {
      const auto& p = e.ticket_opened();
      s.exists = true;
      s.ticket_id = p.ticket_id();
      s.customer_id = e.customer_id();
      s.opened_via = e.channel();
      s.category = p.category();
      s.priority = p.priority();
      s.subject = p.subject();
      s.description = p.description();
      s.status = v1::TICKET_STATUS_OPEN;
      s.tier = p.tier();
      s.resolution_clock.due = FromProto(p.sla_due_at());
      ApplyClocks(p.clocks(), s);
      break;
    }
    case v1::EventEnvelope::kInteractionAdded: {
      const auto& p = e.interaction_added();
      s.interactions.push_back(p);
      if (!p.from_customer() && !p.internal() && !s.first_responded_at) {
        s.first_responded_at = TimeOf(e);
      }
      break;
    }
    case v1::EventEnvelope::kTicketAssigned: {
      const auto& p = e.ticket_assigned();
      s.team = p.team();
      s.agent = p.agent();
      if (p.tier() != v1::SUPPORT_TIER_UNSPECIFIED) s.tier = p.tier();
      break;
    }
    case v1::EventEnvelope::kTicketEscalated: {
      const auto& p = e.ticket_escalated();
      s.tier = p.to_tier();
      if (p.has_sla_due_at()) {
        s.resolution_clock.due = FromProto(p.sla_due_at());
        s.resolution_clock.at_risk.reset();
      }
      ApplyClocks(p.clocks(), s);
      break;
    }
    case v1::EventEnvelope::kTicketResolved:
      s.status = v1::TICKET_STATUS_RESOLVED;
      s.resolution = e.ticket_resolved().resolution();
      s.resolved_at = TimeOf(e);
      s.waiting = false;
      break;
    case v1::EventEnvelope::kTicketReopened:
      s.status = v1::TICKET_STATUS_OPEN;
      s.resolution.clear();
      s.resolution_clock.due = FromProto(e.ticket_reopened().sla_due_at());
      s.resolution_clock.at_risk.reset();
      ApplyClocks(e.ticket_reopened().clocks(), s);
      break;
    case v1::EventEnvelope::kTicketWaiting: {
      const auto& p = e.ticket_waiting();
      s.waiting = true;
      s.first_response.remaining = std::chrono::seconds(p.first_response_remaining_seconds());
      s.resolution_clock.remaining = std::chrono::seconds(p.resolution_remaining_seconds());
      break;
    }
    case v1::EventEnvelope::kTicketResumed:
      s.waiting = false;
      ApplyClocks(e.ticket_resumed().clocks(), s);
      break;
    case v1::EventEnvelope::kSlaAtRisk: {
      const auto& p = e.sla_at_risk();
      if (p.ticket_id().empty()) return;
      auto& c = p.target() == kFirstResponseTarget ? s.first_response : s.resolution_clock;
      c.at_risk_reported = FromProto(p.due_at());
      break;
    }
    case v1::EventEnvelope::kSlaBreached: {
      const auto& p = e.sla_breached();
      if (p.ticket_id().empty()) return;
      auto& c = p.target() == kFirstResponseTarget ? s.first_response : s.resolution_clock;
      c.breached = FromProto(p.due_at());
      break;
    }
    default:
      return;
  }
  Bump(s.version, e);
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::OpenTicketRequest& cmd,
                                      const domain::CommandContext& ctx,
                                      const std::string& ticket_id, const SlaPolicy& policy) {
  RETURN_IF_ERROR(domain::ValidateId("customer_id", cmd.customer_id(), "cus"));
  RETURN_IF_ERROR(domain::ValidateEnumValue("category", cmd.category()));
  RETURN_IF_ERROR(domain::ValidateEnumValue("priority", cmd.priority()));
  RETURN_IF_ERROR(ValidateText("subject", cmd.subject(), domain::kMaxNameLength));
  RETURN_IF_ERROR(ValidateText("description", cmd.description(), domain::kMaxTextLength, false));
  // A ticket imported from another system was opened then: its age and
  // service level count from that time.
  ASSIGN_OR_RETURN(
      TimePoint opened_at,
      domain::StatedTime("occurred_at", cmd.has_occurred_at() ? &cmd.occurred_at() : nullptr, ctx,
                         domain::kMaxClockSkew));
  if (s.exists) {
    return absl::AlreadyExistsError(Cat("ticket ", ticket_id, " already exists"));
  }
  v1::EventEnvelope e;
  if (opened_at != ctx.now) *e.mutable_occurred_at() = ToProto(opened_at);
  auto* p = e.mutable_ticket_opened();
  p->set_ticket_id(ticket_id);
  p->set_category(cmd.category());
  p->set_subject(cmd.subject());
  p->set_description(cmd.description());
  p->set_priority(cmd.priority());
  p->set_tier(v1::SUPPORT_TIER_L1);
  const policy::TicketTargets& targets = policy.TicketTarget(cmd.category(), cmd.priority());
  auto* clocks = p->mutable_clocks();
  if (targets.first_response) {
    StartClock(*targets.first_response, policy, opened_at, targets.first_response->within,
               clocks->mutable_first_response_due_at(),
               clocks->mutable_first_response_at_risk_at());
  }
  StartClock(*targets.resolution, policy, opened_at, targets.resolution->within,
             clocks->mutable_resolution_due_at(), clocks->mutable_resolution_at_risk_at());
  *p->mutable_sla_due_at() = clocks->resolution_due_at();
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::AddInteractionRequest& cmd,
                                      const domain::CommandContext& ctx, const SlaPolicy& policy) {
  RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  RETURN_IF_ERROR(ValidateText("note", cmd.note(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireTicket(s));
  if (cmd.from_customer() && cmd.internal()) {
    return absl::InvalidArgumentError(
        "internal: a customer's message is never internal; set from_customer or internal");
  }
  if (cmd.from_customer() && s.status != v1::TICKET_STATUS_OPEN) {
    return absl::FailedPreconditionError(
        Cat("ticket ", s.ticket_id,
            " is resolved; reopen it (ReopenTicket) to add the customer's message, so "
            "someone answers it"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_interaction_added();
  p->set_ticket_id(s.ticket_id);
  p->set_note(cmd.note());
  p->set_from_customer(cmd.from_customer());
  p->set_internal(cmd.internal());
  domain::Events events{std::move(e)};
  // The customer answered what the ticket waited for: the clocks run again.
  if (cmd.from_customer() && s.waiting) {
    events.push_back(Resumed(s, ctx.now, /*by_customer=*/true, policy));
  }
  return events;
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::SetTicketWaitingRequest& cmd,
                                      const domain::CommandContext& ctx, const SlaPolicy& policy) {
  RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireOpenTicket(s, "set it waiting"));
  if (s.waiting) {
    return absl::FailedPreconditionError(
        Cat("ticket ", s.ticket_id,
            " is already waiting on the customer; their next message or ResumeTicket ends "
            "the wait"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_ticket_waiting();
  p->set_ticket_id(s.ticket_id);
  p->set_reason(cmd.reason());
  if (s.first_response_running()) {
    p->set_first_response_remaining_seconds(
        FirstResponseTarget(s, policy).Remaining(ctx.now, *s.first_response.due).count());
  }
  if (s.resolution_clock.due) {
    p->set_resolution_remaining_seconds(
        ResolutionTarget(s, policy).Remaining(ctx.now, *s.resolution_clock.due).count());
  }
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::ResumeTicketRequest& cmd,
                                      const domain::CommandContext& ctx, const SlaPolicy& policy) {
  RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  RETURN_IF_ERROR(RequireOpenTicket(s, "resume it"));
  if (!s.waiting) {
    return absl::FailedPreconditionError(
        Cat("ticket ", s.ticket_id, " is not waiting on the customer; its clocks are running"));
  }
  return domain::Events{Resumed(s, ctx.now, /*by_customer=*/false, policy)};
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::AssignTicketRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  RETURN_IF_ERROR(ValidateText("team", cmd.team(), domain::kMaxNameLength, false));
  RETURN_IF_ERROR(ValidateText("agent", cmd.agent(), domain::kMaxNameLength, false));
  RETURN_IF_ERROR(ValidateText("reply", cmd.reply(), domain::kMaxTextLength, false));
  if (cmd.team().empty() && cmd.agent().empty()) {
    return absl::InvalidArgumentError("team, agent: set a team, an agent or both");
  }
  if (cmd.tier() != v1::SUPPORT_TIER_UNSPECIFIED) {
    RETURN_IF_ERROR(domain::ValidateEnumValue("tier", cmd.tier()));
  }
  RETURN_IF_ERROR(RequireOpenTicket(s, "assign it"));
  v1::EventEnvelope e;
  auto* p = e.mutable_ticket_assigned();
  p->set_ticket_id(s.ticket_id);
  p->set_team(cmd.team());
  p->set_agent(cmd.agent());
  p->set_tier(cmd.tier() != v1::SUPPORT_TIER_UNSPECIFIED ? cmd.tier() : s.tier);
  domain::Events events{std::move(e)};
  if (!cmd.reply().empty()) {
    v1::EventEnvelope reply;
    auto* r = reply.mutable_interaction_added();
    r->set_ticket_id(s.ticket_id);
    r->set_note(cmd.reply());
    events.push_back(std::move(reply));
  }
  return events;
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::EscalateTicketRequest& cmd,
                                      const domain::CommandContext& ctx, const SlaPolicy& policy) {
  RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  RETURN_IF_ERROR(domain::ValidateEnumValue("to_tier", cmd.to_tier()));
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireOpenTicket(s, "escalate it"));
  if (cmd.to_tier() <= s.tier) {
    if (s.tier == v1::SUPPORT_TIER_SUPERVISOR) {
      return absl::FailedPreconditionError(
          Cat("ticket ", s.ticket_id,
              " is already at SUPERVISOR, the highest tier; assign it to another supervisor "
              "(AssignTicket) instead"));
    }
    return absl::FailedPreconditionError(
        Cat("ticket ", s.ticket_id, " is at ", TierName(s.tier), "; escalation goes to a higher ",
            "tier (", s.tier == v1::SUPPORT_TIER_L1 ? "L2 or SUPERVISOR" : "SUPERVISOR",
            "), not to ", TierName(cmd.to_tier())));
  }
  domain::Events events;
  TicketState now_state = s;
  // Someone works on it now: a waiting ticket runs again first.
  if (s.waiting) {
    events.push_back(Resumed(s, ctx.now, /*by_customer=*/false, policy));
    Evolve(now_state, events.back());
  }
  // Escalating should speed things up: never later than the running target.
  const policy::Target& target = policy.EscalatedTarget(cmd.to_tier());
  auto [due, at_risk] = ClockFrom(target, policy.AtRiskAt(), ctx.now, target.within);
  const auto& current = now_state.resolution_clock;
  if (current.due && *current.due > ctx.now && *current.due <= due) {
    due = *current.due;
    at_risk = current.at_risk.value_or(due);
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_ticket_escalated();
  p->set_ticket_id(s.ticket_id);
  p->set_from_tier(s.tier);
  p->set_to_tier(cmd.to_tier());
  p->set_reason(cmd.reason());
  *p->mutable_sla_due_at() = ToProto(due);
  *p->mutable_clocks()->mutable_resolution_due_at() = ToProto(due);
  *p->mutable_clocks()->mutable_resolution_at_risk_at() = ToProto(at_risk);
  events.push_back(std::move(e));
  return events;
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::ResolveTicketRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  RETURN_IF_ERROR(ValidateText("resolution", cmd.resolution(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireTicket(s));
  if (s.status == v1::TICKET_STATUS_RESOLVED) {
    return absl::FailedPreconditionError(
        Cat("ticket ", s.ticket_id, " is already resolved; reopen it first to change it"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_ticket_resolved();
  p->set_ticket_id(s.ticket_id);
  p->set_resolution(cmd.resolution());
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const TicketState& s, const v1::ReopenTicketRequest& cmd,
                                      const domain::CommandContext& ctx, const SlaPolicy& policy) {
  RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength));
  RETURN_IF_ERROR(RequireTicket(s));
  if (s.status != v1::TICKET_STATUS_RESOLVED) {
    return absl::FailedPreconditionError(
        Cat("ticket ", s.ticket_id, " is still open; only resolved tickets can be reopened"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_ticket_reopened();
  p->set_ticket_id(s.ticket_id);
  p->set_reason(cmd.reason());
  // The category's and priority's target again, whatever tier it reached.
  const policy::Target& target = *policy.TicketTarget(s.category, s.priority).resolution;
  std::chrono::seconds left = target.within;
  if (policy.reopen() == policy::ReopenRule::kRemaining && s.resolution_clock.due &&
      s.resolved_at) {
    left = target.Remaining(*s.resolved_at, *s.resolution_clock.due);
  }
  auto* clocks = p->mutable_clocks();
  StartClock(target, policy, ctx.now, left, clocks->mutable_resolution_due_at(),
             clocks->mutable_resolution_at_risk_at());
  *p->mutable_sla_due_at() = clocks->resolution_due_at();
  return domain::Events{std::move(e)};
}

v1::Ticket ToView(const TicketState& s) {
  v1::Ticket v;
  v.set_ticket_id(s.ticket_id);
  v.set_customer_id(s.customer_id);
  v.set_category(s.category);
  v.set_subject(s.subject);
  v.set_description(s.description);
  v.set_priority(s.priority);
  v.set_status(s.status);
  v.set_tier(s.tier);
  v.set_team(s.team);
  v.set_agent(s.agent);
  if (s.resolution_clock.due) {
    *v.mutable_sla_due_at() = ToProto(*s.resolution_clock.due);
    *v.mutable_resolution_due_at() = ToProto(*s.resolution_clock.due);
  }
  if (s.first_response.due) *v.mutable_first_response_due_at() = ToProto(*s.first_response.due);
  if (s.first_responded_at) *v.mutable_first_responded_at() = ToProto(*s.first_responded_at);
  v.set_sla_breached(s.resolution_clock.is_breached());
  v.set_first_response_breached(s.first_response.is_breached());
  v.set_paused(s.waiting);
  // At risk: warned for the running due time and not breached yet.
  auto warned = [](const TicketState::SlaClock& c) {
    return c.due && c.at_risk_reported == c.due && !c.is_breached();
  };
  v.set_at_risk(s.open() && ((s.first_response_running() && warned(s.first_response)) ||
                             warned(s.resolution_clock)));
  for (const auto& i : s.interactions) *v.add_interactions() = i;
  v.set_resolution(s.resolution);
  v.set_opened_via(s.opened_via);
  v.set_version(s.version);
  return v;
}

// ---- Callback ----

void Evolve(CallbackState& s, const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kMissedCallRecorded: {
      const auto& p = e.missed_call_recorded();
      s.exists = true;
      s.from_missed_call = true;
      s.callback_id = p.callback_id();
      s.customer_id = !p.customer_id().empty() ? p.customer_id() : e.customer_id();
      s.phone_number = p.caller_number();
      s.called_at = FromProto(p.called_at());
      s.line = p.line();
      s.due_at = FromProto(p.sla_due_at());
      break;
    }
    case v1::EventEnvelope::kMissedCallLinked:
      s.customer_id = e.customer_id();
      break;
    case v1::EventEnvelope::kCallbackScheduled: {
      const auto& p = e.callback_scheduled();
      s.exists = true;
      s.callback_id = p.callback_id();
      s.customer_id = e.customer_id();
      s.ticket_id = p.ticket_id();
      s.phone_number = p.phone_number();
      s.due_at = FromProto(p.due_at());
      s.reason = p.reason();
      break;
    }
    case v1::EventEnvelope::kCallbackCompleted:
      s.completed = true;
      s.reached = e.callback_completed().reached();
      s.note = e.callback_completed().note();
      break;
    case v1::EventEnvelope::kSlaBreached:
      if (e.sla_breached().callback_id().empty()) return;
      s.breached_due_at = FromProto(e.sla_breached().due_at());
      break;
    default:
      return;
  }
  Bump(s.version, e);
}

absl::StatusOr<domain::Events> Decide(const CallbackState& s,
                                      const v1::RecordMissedCallRequest& cmd,
                                      const domain::CommandContext& ctx,
                                      const std::string& callback_id, const PhoneLookup& lookup,
                                      const SlaPolicy& policy) {
  ASSIGN_OR_RETURN(std::string caller,
                   domain::NormalizePhone("caller_number", cmd.caller_number()));
  // The phone system may leave the time out; then the call is "now".
  ASSIGN_OR_RETURN(TimePoint called_at,
                   domain::StatedTime("called_at", cmd.has_called_at() ? &cmd.called_at() : nullptr,
                                      ctx, kLateCallReport));
  RETURN_IF_ERROR(ValidateText("line", cmd.line(), domain::kMaxNameLength, false));
  if (s.exists) {
    return absl::AlreadyExistsError(Cat("callback ", callback_id, " already exists"));
  }
  v1::EventEnvelope e;
  if (called_at != ctx.now) *e.mutable_occurred_at() = ToProto(called_at);
  auto* p = e.mutable_missed_call_recorded();
  p->set_callback_id(callback_id);
  p->set_caller_number(caller);
  *p->mutable_called_at() = ToProto(called_at);
  p->set_line(cmd.line());
  if (lookup) {
    if (std::optional<std::string> customer = lookup(caller)) {
      p->set_customer_id(*customer);
      e.set_customer_id(*customer);
    }
  }
  // From the call, not from now: the caller has been waiting since then.
  *p->mutable_sla_due_at() = ToProto(policy.MissedCallCallback().Due(called_at));
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const CallbackState& s,
                                      const v1::ScheduleCallbackRequest& cmd,
                                      const domain::CommandContext& ctx,
                                      const std::string& callback_id) {
  RETURN_IF_ERROR(domain::ValidateId("customer_id", cmd.customer_id(), "cus"));
  if (!cmd.ticket_id().empty()) RETURN_IF_ERROR(ValidateTicketId(cmd.ticket_id()));
  ASSIGN_OR_RETURN(std::string phone, domain::NormalizePhone("phone_number", cmd.phone_number()));
  RETURN_IF_ERROR(domain::ValidateTimestamp("due_at", cmd.due_at()));
  if (FromProto(cmd.due_at()) <= ctx.now) {
    return absl::InvalidArgumentError(
        "due_at: is in the past; schedule the callback for a time in the future");
  }
  RETURN_IF_ERROR(ValidateText("reason", cmd.reason(), domain::kMaxTextLength));
  if (s.exists) {
    return absl::AlreadyExistsError(Cat("callback ", callback_id, " already exists"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_callback_scheduled();
  p->set_callback_id(callback_id);
  p->set_ticket_id(cmd.ticket_id());
  p->set_phone_number(phone);
  *p->mutable_due_at() = cmd.due_at();
  p->set_reason(cmd.reason());
  return domain::Events{std::move(e)};
}

absl::StatusOr<domain::Events> Decide(const CallbackState& s,
                                      const v1::CompleteCallbackRequest& cmd,
                                      const domain::CommandContext& ctx) {
  RETURN_IF_ERROR(domain::ValidateId("callback_id", cmd.callback_id(), kCallbackPrefix));
  RETURN_IF_ERROR(ValidateText("note", cmd.note(), domain::kMaxTextLength,
                               /*required=*/!cmd.reached()));
  if (!s.exists) {
    return absl::NotFoundError("callback not found; check the callback_id");
  }
  if (s.completed) {
    return absl::FailedPreconditionError(
        Cat("callback ", s.callback_id,
            " is already completed; schedule a new callback (ScheduleCallback) to call again"));
  }
  v1::EventEnvelope e;
  auto* p = e.mutable_callback_completed();
  p->set_callback_id(s.callback_id);
  p->set_reached(cmd.reached());
  p->set_note(cmd.note());
  return domain::Events{std::move(e)};
}

// ---- SLA timer ----

domain::Events DueBreaches(const TicketState& s, TimePoint now) {
  domain::Events out;
  for (const auto& [at, what] : Pending(s)) {
    if (at > now) break;
    const auto& [target, breach] = what;
    const auto& clock =
        std::string_view(target) == kFirstResponseTarget ? s.first_response : s.resolution_clock;
    // Past its due time, a clock only breaches.
    if (!breach && now >= *clock.due) continue;
    v1::EventEnvelope e;
    *e.mutable_occurred_at() = ToProto(at);
    if (breach) {
      auto* p = e.mutable_sla_breached();
      p->set_ticket_id(s.ticket_id);
      *p->mutable_due_at() = ToProto(*clock.due);
      p->set_tier(s.tier);
      p->set_target(target);
    } else {
      auto* p = e.mutable_sla_at_risk();
      p->set_ticket_id(s.ticket_id);
      *p->mutable_due_at() = ToProto(*clock.due);
      p->set_tier(s.tier);
      p->set_target(target);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<TimePoint> NextDeadline(const TicketState& s) {
  auto pending = Pending(s);
  if (pending.empty()) return std::nullopt;
  return pending.front().first;
}

std::optional<TimePoint> NextDeadline(const CallbackState& s) {
  if (!s.open() || !s.due_at || s.breached_due_at == s.due_at) return std::nullopt;
  return s.due_at;
}

domain::Events DueBreaches(const CallbackState& s, TimePoint now) {
  if (!s.open() || !s.due_at || now < *s.due_at) return {};
  if (s.breached_due_at == s.due_at) return {};
  v1::EventEnvelope e;
  *e.mutable_occurred_at() = ToProto(*s.due_at);
  auto* p = e.mutable_sla_breached();
  p->set_callback_id(s.callback_id);
  *p->mutable_due_at() = ToProto(*s.due_at);
  p->set_target(kCallbackTarget);
  return {std::move(e)};
}

// ---- Directory ----

std::optional<std::string> Directory::LookupPhone(const std::string& e164) const {
  return Find(customer_by_phone, ambiguous, e164);
}

std::optional<std::string> Directory::LookupEmail(const std::string& email) const {
  return Find(customer_by_email, ambiguous, email);
}

PhoneLookup Directory::AsLookup() const {
  return [this](const std::string& e164) { return LookupPhone(e164); };
}

void Evolve(Directory& d, const v1::EventEnvelope& e) {
  switch (e.payload_case()) {
    case v1::EventEnvelope::kCustomerRegistered: {
      const auto& p = e.customer_registered();
      const std::string& customer = !p.customer_id().empty() ? p.customer_id() : e.customer_id();
      if (customer.empty()) return;
      // Sales stores normalised values; normalising again keeps the
      // directory right even for events written before that rule.
      for (const auto& raw : p.phone_numbers()) {
        if (auto phone = domain::NormalizePhone("phone", raw); phone.ok()) {
          Claim(d.customer_by_phone, d.ambiguous, *phone, customer);
        }
      }
      for (const auto& raw : p.emails()) {
        if (auto email = domain::NormalizeEmail("email", raw); email.ok()) {
          Claim(d.customer_by_email, d.ambiguous, *email, customer);
        }
      }
      break;
    }
    case v1::EventEnvelope::kMissedCallRecorded: {
      const auto& p = e.missed_call_recorded();
      if (!p.customer_id().empty()) return;
      auto& pending = d.pending_by_phone[p.caller_number()];
      bool known = std::any_of(pending.begin(), pending.end(),
                               [&](const auto& c) { return c.callback_id == p.callback_id(); });
      if (!known) pending.push_back({p.callback_id(), p.called_at(), p.sla_due_at()});
      break;
    }
    case v1::EventEnvelope::kMissedCallLinked: {
      const auto& p = e.missed_call_linked();
      auto it = d.pending_by_phone.find(p.caller_number());
      if (it == d.pending_by_phone.end()) return;
      std::erase_if(it->second, [&](const auto& c) { return c.callback_id == p.callback_id(); });
      if (it->second.empty()) d.pending_by_phone.erase(it);
      break;
    }
    default:
      break;
  }
}

absl::StatusOr<domain::Events> ReactToCustomerRegistered(const Directory& d,
                                                         const v1::EventEnvelope& in,
                                                         const domain::CommandContext& ctx) {
  if (!in.has_customer_registered()) {
    return absl::InvalidArgumentError(Cat("ReactToCustomerRegistered got a ", domain::EventType(in),
                                          " event; pass CustomerRegistered"));
  }
  const auto& p = in.customer_registered();
  const std::string& customer = !p.customer_id().empty() ? p.customer_id() : in.customer_id();
  if (customer.empty()) {
    return absl::InvalidArgumentError(
        Cat("CustomerRegistered event ", in.event_id(), " has no customer_id"));
  }
  domain::Events out;
  std::set<std::string> seen;
  for (const auto& raw : p.phone_numbers()) {
    auto phone = domain::NormalizePhone("phone", raw);
    if (!phone.ok() || !seen.insert(*phone).second) continue;
    // A number someone else already owns is shared; its calls stay unlinked.
    auto owner = d.customer_by_phone.find(*phone);
    if (d.ambiguous.contains(*phone) ||
        (owner != d.customer_by_phone.end() && owner->second != customer)) {
      continue;
    }
    auto pending = d.pending_by_phone.find(*phone);
    if (pending == d.pending_by_phone.end()) continue;
    for (const auto& call : pending->second) {
      v1::EventEnvelope e;
      e.set_customer_id(customer);
      auto* link = e.mutable_missed_call_linked();
      link->set_callback_id(call.callback_id);
      link->set_caller_number(*phone);
      *link->mutable_called_at() = call.called_at;
      *link->mutable_sla_due_at() = call.sla_due_at;
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::pair<std::string, std::string> AggregateOf(const v1::EventEnvelope& e) {
  auto ticket = [](const std::string& id) {
    return std::pair<std::string, std::string>(kTicketAggregate, id);
  };
  auto callback = [](const std::string& id) {
    return std::pair<std::string, std::string>(kCallbackAggregate, id);
  };
  switch (e.payload_case()) {
    case v1::EventEnvelope::kTicketOpened:
      return ticket(e.ticket_opened().ticket_id());
    case v1::EventEnvelope::kInteractionAdded:
      return ticket(e.interaction_added().ticket_id());
    case v1::EventEnvelope::kTicketAssigned:
      return ticket(e.ticket_assigned().ticket_id());
    case v1::EventEnvelope::kTicketEscalated:
      return ticket(e.ticket_escalated().ticket_id());
    case v1::EventEnvelope::kTicketResolved:
      return ticket(e.ticket_resolved().ticket_id());
    case v1::EventEnvelope::kTicketReopened:
      return ticket(e.ticket_reopened().ticket_id());
    case v1::EventEnvelope::kTicketWaiting:
      return ticket(e.ticket_waiting().ticket_id());
    case v1::EventEnvelope::kTicketResumed:
      return ticket(e.ticket_resumed().ticket_id());
    case v1::EventEnvelope::kSlaAtRisk:
      return e.sla_at_risk().ticket_id().empty() ? callback(e.sla_at_risk().callback_id())
                                                 : ticket(e.sla_at_risk().ticket_id());
    case v1::EventEnvelope::kMissedCallRecorded:
      return callback(e.missed_call_recorded().callback_id());
    case v1::EventEnvelope::kMissedCallLinked:
      return callback(e.missed_call_linked().callback_id());
    case v1::EventEnvelope::kCallbackScheduled:
      return callback(e.callback_scheduled().callback_id());
    case v1::EventEnvelope::kCallbackCompleted:
      return callback(e.callback_completed().callback_id());
    case v1::EventEnvelope::kSlaBreached:
      return e.sla_breached().ticket_id().empty() ? callback(e.sla_breached().callback_id())
                                                  : ticket(e.sla_breached().ticket_id());
    default:
      return {};
  }
}

}  // namespace threadline::support
