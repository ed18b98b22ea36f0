#pragma once

// The operator's policy file: service-level targets, the business hours
// they run in, and what each role may do. docs/operations.md ("The policy
// file") documents every key; Policy::Defaults() is the shipped file.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/common/clock.h"
#include "threadline/policy/calendar.h"
#include "threadline/v1/common.pb.h"
#include "threadline/v1/support.pb.h"

namespace threadline::policy {
namespace internal {
class Parser;
}  // namespace internal

// The largest policy file Load and Parse take (1 MiB); real ones are a few
// kilobytes.
inline constexpr size_t kMaxPolicyBytes = 1 << 20;

// A service-level target: `within` of open time of `calendar`, or of
// wall-clock time when calendar is null.
struct Target {
  Duration within{0};
  const Calendar* calendar = nullptr;  // owned by the Policy; nullptr = wall clock
  std::string calendar_name;           // "" = wall clock

  // start + within (in open time).
  TimePoint Due(TimePoint start) const;
  // The time left until `due` at `now`, in open time: what a clock keeps
  // while it is paused. Zero when `now` is at or past `due`, so an overdue
  // clock resumes overdue at once.
  Duration Remaining(TimePoint now, TimePoint due) const;
  // The due time after a pause that ends at `at`, with `remaining` as
  // Remaining() gave at its start.
  TimePoint Resume(TimePoint at, Duration remaining) const;
};

struct TicketTargets {
  v1::TicketCategory category = v1::TICKET_CATEGORY_UNSPECIFIED;
  v1::TicketPriority priority = v1::TICKET_PRIORITY_UNSPECIFIED;
  std::optional<Target> first_response;  // none: no first-response clock
  std::optional<Target> resolution;      // set for every pair a Policy returns
};

// The resolution due time of a reopened ticket.
enum class ReopenRule {
  kFullTarget,  // the whole resolution target again, from the reopening
  kRemaining,   // what was left when it was resolved
};

// What a role may do. Role names are those of threadline/domain/roles.h.
struct RolePolicy {
  // Methods it may call: "SupportService/*", "BillingService/GrantCredit",
  // or "*" (everything). Checked for syntax here; the server checks that
  // they name real methods.
  std::vector<std::string> may;
  // Largest credit per grant it may apply without approval; nullopt: none
  // (every grant waits for approval) unless unlimited_credit.
  std::optional<v1::Money> credit_limit;
  bool unlimited_credit = false;  // `credit_limit: unlimited`
  // Most it may credit one customer in any 30 days; nullopt: no such cap.
  std::optional<v1::Money> credit_limit_per_30_days;
  bool approves_credits = false;  // may approve credits waiting for approval
};

// A parsed, validated policy: the shipped defaults with what a file says
// laid over them.
//
// Immutable once made; thread-safe to read. Copyable and movable: the
// calendars are shared immutable objects, so the Targets of a copy or a
// moved-to Policy keep pointing at live calendars (the same ones
// FindCalendar returns) for as long as that Policy lives.
class Policy {
 public:
  // The shipped policy, parsed from the YAML text shipped in the binary at
  // first use: what a deployment without a policy file runs with.
  static const Policy& Defaults();
  // Parses YAML text over the defaults: what the text does not say keeps
  // the default. `origin` (a file name) prefixes every error, with the line
  // and the key path: "policy.yaml:12: sla.tickets[1].within: ...". Empty
  // text is the defaults. InvalidArgument for anything not a valid policy,
  // text over kMaxPolicyBytes included.
  [[nodiscard]] static absl::StatusOr<Policy> Parse(std::string_view yaml, std::string_view origin);
  // Reads and parses a file; refuses one over kMaxPolicyBytes before
  // reading it (InvalidArgument with its size and the limit), NotFound when
  // there is none.
  [[nodiscard]] static absl::StatusOr<Policy> Load(const std::filesystem::path& file);

  // The text it was parsed from; for Defaults() the shipped YAML.
  const std::string& source() const { return source_; }
  // Lower-case hex SHA-256 of source(): which policy a process runs.
  const std::string& digest() const { return digest_; }

  // nullptr when there is no calendar of that name.
  const Calendar* FindCalendar(std::string_view name) const;
  const std::map<std::string, std::shared_ptr<const Calendar>, std::less<>>& calendars() const {
    return calendars_;
  }
  // The targets of a ticket of this category and priority. Every known pair
  // has an entry; for UNSPECIFIED or unknown values, no first response and
  // FallbackResolution().
  const TicketTargets& TicketTarget(v1::TicketCategory category, v1::TicketPriority priority) const;
  // The resolution target for a ticket of no known pair, and for a tier
  // without a target of its own (sla.fallback_resolution, default 72h).
  const Target& FallbackResolution() const { return fallback_.resolution.value(); }
  // The resolution target after an escalation to `tier` (defaults: L2 8h,
  // SUPERVISOR 4h); FallbackResolution() for a tier without one.
  const Target& EscalatedTarget(v1::SupportTier tier) const;
  // Calling back a missed call, from the time of the call (default 2h).
  const Target& MissedCallCallback() const { return missed_call_callback_; }
  // The fraction of a target after which a clock counts as at risk, in
  // (0, 1); default 0.8.
  double AtRiskAt() const { return at_risk_at_; }
  // Default kFullTarget.
  ReopenRule reopen() const { return reopen_; }
  // Keyed by role name: the seven a file may set (sales, installation,
  // support, billing, supervisor, dashboard, privacy) and the two fixed
  // ones, admin (everything, unlimited credit, approves) and service (the
  // deployment's processes: JourneyExportService/*, KeyService/*).
  const std::map<std::string, RolePolicy>& roles() const { return roles_; }

  // A few lines for people: calendars, targets, roles.
  std::string Summary() const;

 private:
  friend class internal::Parser;
  Policy() = default;

  std::string source_;
  std::string digest_;
  std::map<std::string, std::shared_ptr<const Calendar>, std::less<>> calendars_;
  std::map<std::pair<v1::TicketCategory, v1::TicketPriority>, TicketTargets> tickets_;
  TicketTargets fallback_;  // UNSPECIFIED pair; resolution = sla.fallback_resolution
  std::map<v1::SupportTier, Target> escalated_;
  Target missed_call_callback_;
  double at_risk_at_ = 0;
  ReopenRule reopen_ = ReopenRule::kFullTarget;
  std::map<std::string, RolePolicy> roles_;
};

}  // namespace threadline::policy
