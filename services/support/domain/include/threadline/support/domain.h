#pragma once

// Support domain: tickets and callbacks (one stream each), the SLA timer, and
// the contact directory that attaches missed calls to customers.
//
// Why it looks like this: a missed call is a lost customer unless someone
// calls back, so every missed call becomes a callback with a short SLA, even
// from an unknown number, and joins the customer's journey as soon as a
// customer with that number is registered. A first-level agent can always
// escalate; nobody needs to "ask a supervisor" to reach second level.
//
// Pure functions over plain values: thread-safe because they share nothing.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/domain/domain.h"
#include "threadline/policy/policy.h"
#include "threadline/v1/sales.pb.h"
#include "threadline/v1/support.pb.h"

namespace threadline::support {

inline constexpr std::string_view kTicketAggregate = "ticket";
inline constexpr std::string_view kCallbackAggregate = "callback";
inline constexpr std::string_view kTicketPrefix = "tkt";
inline constexpr std::string_view kCallbackPrefix = "cb";

// Service-level targets come from the operator's policy (policy::Policy):
// per category and priority a first-response and a resolution target, each
// in the business time of a calendar or in wall-clock time; targets after
// escalation per tier; the missed-call callback target; the at-risk share.
// Decisions record the due and at-risk times they compute on the events, so
// replaying a ticket never needs the policy that was in force.
using SlaPolicy = policy::Policy;

// Names of the targets on SlaAtRisk and SlaBreached.
inline constexpr char kFirstResponseTarget[] = "first_response";
inline constexpr char kResolutionTarget[] = "resolution";
inline constexpr char kCallbackTarget[] = "callback";

// Finds the customer that owns an E.164 number, if any.
using PhoneLookup = std::function<std::optional<std::string>(const std::string& e164)>;

// ---- Ticket ----

struct TicketState {
  bool exists = false;
  uint64_t version = 0;
  std::string ticket_id;
  std::string customer_id;
  v1::Channel opened_via = v1::CHANNEL_UNSPECIFIED;
  v1::TicketCategory category = v1::TICKET_CATEGORY_UNSPECIFIED;
  v1::TicketPriority priority = v1::TICKET_PRIORITY_UNSPECIFIED;
  std::string subject;
  std::string description;
  v1::TicketStatus status = v1::TICKET_STATUS_UNSPECIFIED;
  v1::SupportTier tier = v1::SUPPORT_TIER_UNSPECIFIED;
  std::string team;
  std::string agent;
  // One service-level clock (first response, resolution).
  struct SlaClock {
    std::optional<TimePoint> due;      // while waiting: the due time before the pause
    std::optional<TimePoint> at_risk;  // when it turns at risk; unset: never warned
    // The due time an SlaAtRisk / SlaBreached was recorded for: one each per
    // due time, so a new due time (escalation, reopening, resuming) can warn
    // and breach again.
    std::optional<TimePoint> at_risk_reported;
    std::optional<TimePoint> breached;
    std::chrono::seconds remaining{0};  // while waiting: open time it had left
    bool is_breached() const { return due && breached == due; }
  };
  SlaClock first_response;
  SlaClock resolution_clock;
  // The resolution due time (resolution_clock.due), as TicketOpened's
  // sla_due_at has always said.
  const std::optional<TimePoint>& sla_due_at() const { return resolution_clock.due; }
  std::optional<TimePoint> first_responded_at;  // the first answer to the customer
  bool waiting = false;                         // on the customer: clocks stopped
  std::optional<TimePoint> resolved_at;
  std::vector<v1::InteractionAdded> interactions;
  std::string resolution;

  bool open() const { return exists && status == v1::TICKET_STATUS_OPEN; }
  // The first-response clock runs until the first answer.
  bool first_response_running() const { return first_response.due && !first_responded_at; }
};

void Evolve(TicketState& state, const v1::EventEnvelope& event);

// Opens ticket `ticket_id` (chosen by the service, so it knows the stream)
// at tier L1 with the policy's first-response and resolution clocks,
// counted from now or, for history an admin imports, from occurred_at.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::OpenTicketRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const std::string& ticket_id,
                                                    const SlaPolicy& policy);
// A note on the ticket. A customer's message on a resolved ticket is refused
// with a request to reopen it, so it cannot go unnoticed; agents' notes are
// always accepted. The first agent's note that is not internal answers the
// customer (first response); the customer's message on a waiting ticket
// resumes its clocks (TicketResumed).
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::AddInteractionRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const SlaPolicy& policy);
// Waiting on the customer: the clocks stop and keep the open time they have
// left (TicketWaiting). Only an open ticket that is not waiting already.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::SetTicketWaitingRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const SlaPolicy& policy);
// An agent ends the wait: the clocks run again from what they had left.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::ResumeTicketRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const SlaPolicy& policy);
// Team and/or agent; tier optional (unset keeps the current tier). A reply
// is recorded as the agent's interaction: an assignment with a reply answers
// the customer (first response).
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::AssignTicketRequest& cmd,
                                                    const domain::CommandContext& ctx);
// To a strictly higher tier (L1->L2, L1->SUPERVISOR, L2->SUPERVISOR); any
// agent may escalate, no approval needed. The resolution due time becomes
// min(current due if still ahead, the tier's target from now); a waiting
// ticket is resumed first (someone works on it now).
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::EscalateTicketRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const SlaPolicy& policy);
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::ResolveTicketRequest& cmd,
                                                    const domain::CommandContext& ctx);
// Only a resolved ticket; the resolution clock restarts from now with the
// full target or with what was left at the resolution, as the policy says
// (the tier stays).
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const TicketState& state,
                                                    const v1::ReopenTicketRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const SlaPolicy& policy);

v1::Ticket ToView(const TicketState& state);

// ---- Callback ----

struct CallbackState {
  bool exists = false;
  uint64_t version = 0;
  std::string callback_id;
  std::string customer_id;  // empty while the number is unknown
  std::string ticket_id;
  std::string phone_number;  // E.164
  bool from_missed_call = false;
  std::optional<TimePoint> called_at;  // missed calls only
  std::string line;
  std::string reason;
  std::optional<TimePoint> due_at;
  std::optional<TimePoint> breached_due_at;
  bool completed = false;
  bool reached = false;
  std::string note;

  bool open() const { return exists && !completed; }
};

void Evolve(CallbackState& state, const v1::EventEnvelope& event);

// A missed call becomes callback `callback_id`, due policy.missed_call_callback
// after the call; linked to a customer at once when `lookup` knows the number.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const CallbackState& state,
                                                    const v1::RecordMissedCallRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const std::string& callback_id,
                                                    const PhoneLookup& lookup,
                                                    const SlaPolicy& policy);
// A callback an agent promised; due in the future.
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const CallbackState& state,
                                                    const v1::ScheduleCallbackRequest& cmd,
                                                    const domain::CommandContext& ctx,
                                                    const std::string& callback_id);
// Closes the callback; when the customer was not reached the note must say
// what was tried (voicemail, SMS).
[[nodiscard]] absl::StatusOr<domain::Events> Decide(const CallbackState& state,
                                                    const v1::CompleteCallbackRequest& cmd,
                                                    const domain::CommandContext& ctx);

// ---- SLA timer ----

// SlaAtRisk and SlaBreached for every clock of an open, running ticket (or
// an open callback) whose at-risk or due time has passed and was not
// reported yet; empty otherwise. occurred_at is that time (when it
// happened, not when the timer noticed). A clock already past its due time
// only breaches. A new due time (reopen, escalation, resume) can warn and
// breach again.
[[nodiscard]] domain::Events DueBreaches(const TicketState& state, TimePoint now);
[[nodiscard]] domain::Events DueBreaches(const CallbackState& state, TimePoint now);
// The next time the SLA timer must look at the aggregate: the earliest
// at-risk or due time not reported yet of a running clock; none when
// closed, waiting or fully reported. The service keeps one deadline entry
// per aggregate at this time.
[[nodiscard]] std::optional<TimePoint> NextDeadline(const TicketState& state);
[[nodiscard]] std::optional<TimePoint> NextDeadline(const CallbackState& state);

// ---- Directory (sales -> support) ----

// Who owns which phone number and e-mail address, from sales'
// CustomerRegistered events, and which missed calls still wait for an owner,
// from support's own MissedCallRecorded / MissedCallLinked events.
struct Directory {
  struct PendingCall {
    std::string callback_id;
    google::protobuf::Timestamp called_at;
    google::protobuf::Timestamp sla_due_at;
  };
  std::map<std::string, std::string> customer_by_phone;  // E.164 -> customer_id
  std::map<std::string, std::string> customer_by_email;  // lower-cased -> customer_id
  // Numbers and addresses registered to more than one customer (a shared
  // landline): a call from them is attributed to nobody rather than to the
  // wrong person.
  std::set<std::string> ambiguous;
  std::map<std::string, std::vector<PendingCall>> pending_by_phone;

  std::optional<std::string> LookupPhone(const std::string& e164) const;
  std::optional<std::string> LookupEmail(const std::string& email) const;
  // A PhoneLookup over this directory; it must outlive the function.
  PhoneLookup AsLookup() const;
};

void Evolve(Directory& directory, const v1::EventEnvelope& event);

// CustomerRegistered -> MissedCallLinked for every pending missed call under
// one of the customer's numbers (on each callback's stream; the envelopes
// carry the new customer_id). Idempotent once the links are evolved into the
// directory. INVALID_ARGUMENT when the input is not a CustomerRegistered.
[[nodiscard]] absl::StatusOr<domain::Events> ReactToCustomerRegistered(
    const Directory& directory, const v1::EventEnvelope& registered,
    const domain::CommandContext& ctx);

// The aggregate a support event belongs to: {kTicketAggregate, ticket_id} or
// {kCallbackAggregate, callback_id}; empty strings for other events.
std::pair<std::string, std::string> AggregateOf(const v1::EventEnvelope& event);

}  // namespace threadline::support
