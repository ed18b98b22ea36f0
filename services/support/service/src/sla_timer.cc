// The SLA timer walks the deadline indexes (open_ticket, open_callback)
// earliest first and stops at the first deadline still ahead. An entry is a
// hint, the stream is the truth: each due entry's aggregate is written
// through the one write path, where the domain's DueBreaches decides. The
// warnings and breaches are appended with an idempotency key per
// (aggregate, deadline), with the release of the entry and the claim of the
// aggregate's next deadline (a ticket warns at risk, then breaches, per
// clock), in one append; an entry that is no longer the aggregate's next
// deadline (resolved, completed, escalated, reopened, waiting) is dropped.

#include "indexes.h"
#include "threadline/common/log.h"
#include "threadline/support/service.h"

namespace threadline::support {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("support.sla");
  return *log;
}

}  // namespace

SlaTimer::SlaTimer(command::Env env, SlaTimerOptions options)
    : env_(std::move(env)), options_(options) {}

SlaTimer::~SlaTimer() { Stop(); }

absl::Status SlaTimer::Start() {
  std::lock_guard lock(mu_);
  if (running_) return absl::FailedPreconditionError("SLA timer already started");
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void SlaTimer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SlaTimerStats SlaTimer::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void SlaTimer::Loop() {
  LogEvery errors(std::chrono::seconds(30));
  std::unique_lock lock(mu_);
  while (running_) {
    lock.unlock();
    auto breaches = Tick();
    if (!breaches.ok() && errors.Allow()) {
      Log().Error("SLA pass failed; retrying next interval",
                  {{"error", breaches.status().ToString()}});
    }
    lock.lock();
    cv_.wait_for(lock, options_.interval, [this] { return !running_; });
  }
}

absl::StatusOr<size_t> SlaTimer::Tick() {
  std::lock_guard pass(tick_mu_);
  auto tickets = Sweep(index::kOpenTicket);
  auto callbacks = Sweep(index::kOpenCallback);
  std::lock_guard lock(mu_);
  ++stats_.passes;
  if (!tickets.ok() || !callbacks.ok()) ++stats_.errors;
  RETURN_IF_ERROR(tickets.status());
  RETURN_IF_ERROR(callbacks.status());
  return *tickets + *callbacks;
}

absl::StatusOr<size_t> SlaTimer::Sweep(const char* idx) {
  const TimePoint now = (env_.clock ? *env_.clock : Clock::Real()).Now();
  size_t breaches = 0;
  // Handled entries leave the index, so each scan starts at the earliest
  // deadline still waiting; a full batch of due entries means read again,
  // as long as the last read removed something.
  for (;;) {
    ASSIGN_OR_RETURN(auto entries, env_.store->ScanClaims(idx, "", options_.scan_batch));
    size_t removed = 0;
    bool reached_future = false;
    for (const auto& [value, owner] : entries) {
      auto entry = index::ParseDueValue(value);
      if (entry && entry->due > now) {
        reached_future = true;
        break;
      }
      ASSIGN_OR_RETURN(Outcome outcome, Process(idx, value, owner, now));
      breaches += outcome == Outcome::kBreached ? 1 : 0;
      removed += outcome == Outcome::kKept ? 0 : 1;
    }
    if (reached_future || entries.size() < options_.scan_batch || removed == 0) break;
  }
  return breaches;
}

absl::StatusOr<SlaTimer::Outcome> SlaTimer::Process(const char* idx, const std::string& value,
                                                    const std::string& owner, TimePoint now) {
  const bool ticket = std::string_view(idx) == index::kOpenTicket;
  auto entry = index::ParseDueValue(value);
  if (!entry) {
    Log().Warn("dropping a malformed deadline entry", {{"index", idx}, {"value", value}});
    RETURN_IF_ERROR(index::Release(*env_.store, {{idx, value, owner}}));
    return Outcome::kDropped;
  }
  const std::string aggregate(ticket ? kTicketAggregate : kCallbackAggregate);
  const eventstore::UniqueClaim claim{idx, value, entry->id};
  const std::string key =
      "support.sla/" + entry->id + "/" + std::to_string(ToUnixMicros(entry->due));
  command::Write w;
  w.target = command::Target{aggregate, entry->id, ""};
  w.stamp.channel = v1::CHANNEL_SYSTEM;
  w.stamp.actor.set_principal("support-sla-timer");
  w.stamp.actor.set_role("system");
  w.stamp.correlation_id = key;
  w.idempotency_key = key;
  w.fingerprint = key;
  // The breach and the end of its entry in one write; an entry whose due
  // time is no longer the aggregate's (resolved, completed, escalated,
  // reopened) only leaves the index.
  bool stale = false;
  auto decide = [&](const auto& s, const domain::CommandContext&) {
    command::Decision d;
    d.releases = {claim};
    d.events = DueBreaches(s, now);
    // Another deadline's events belong to that deadline's own entry.
    if (d.events.empty() || NextDeadline(s) != entry->due) {
      d.events.clear();
      stale = true;
      return absl::StatusOr<command::Decision>(std::move(d));
    }
    auto after = s;
    for (const auto& e : d.events) Evolve(after, e);
    if (auto next = NextDeadline(after)) d.claims.push_back(index::DueClaim(idx, *next, entry->id));
    return absl::StatusOr<command::Decision>(std::move(d));
  };
  auto written = ticket ? command::WriteAggregate<TicketState>(env_, w, decide)
                        : command::WriteAggregate<CallbackState>(env_, w, decide);
  RETURN_IF_ERROR(written.status());
  if (written->replayed) {
    // Breached (or found stale) before, but the entry survived: drop it now.
    RETURN_IF_ERROR(index::Release(*env_.store, {claim}));
    return Outcome::kDropped;
  }
  if (stale) {
    std::lock_guard lock(mu_);
    ++stats_.stale;
    return Outcome::kDropped;
  }
  size_t breached = 0;
  size_t warned = 0;
  for (const auto& e : written->events) {
    breached += e.has_sla_breached() ? 1 : 0;
    warned += e.has_sla_at_risk() ? 1 : 0;
  }
  Log().Info(breached > 0 ? "SLA breached" : "SLA at risk",
             {{"aggregate", aggregate}, {"id", entry->id}, {"stream", w.target.Stream()}});
  std::lock_guard lock(mu_);
  stats_.breaches += breached;
  stats_.at_risk += warned;
  return breached > 0 ? Outcome::kBreached : Outcome::kWarned;
}

}  // namespace threadline::support
