#include "threadline/policy/policy.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

#include "defaults.h"
#include "parse.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/roles.h"

namespace threadline::policy {
namespace {

using domain::Cat;

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest cannot fail for SHA-256 on in-memory data short of memory
  // exhaustion, which no caller could handle better than an abort.
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    std::fputs("threadline: SHA-256 failed\n", stderr);
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

// "3d", "1h30m", "45m": as a policy file writes it.
std::string Format(Duration d) {
  const int64_t s = d.count();
  std::string out;
  if (s / 86400 > 0) out += Cat(s / 86400, "d");
  if (s % 86400 / 3600 > 0) out += Cat(s % 86400 / 3600, "h");
  if (s % 3600 / 60 > 0) out += Cat(s % 3600 / 60, "m");
  if (s % 60 > 0) out += Cat(s % 60, "s");
  return out.empty() ? "0m" : out;
}

std::string Format(const Target& t) {
  if (t.calendar_name.empty()) return Format(t.within);
  return Cat(Format(t.within), " in ", t.calendar_name, " hours");
}

std::string Format(const v1::Money& m) {
  return Cat(m.amount_minor(), " ", m.currency(), " (minor units)");
}

// A shipped policy that does not parse, or leaves something unset, is a
// bug of this library that every test of it catches.
[[noreturn]] void ShippedPolicyBroken(std::string_view why) {
  std::fprintf(stderr, "threadline: the shipped policy is broken: %.*s\n",
               static_cast<int>(why.size()), why.data());
  std::abort();
}

}  // namespace

// ---- Target ----

TimePoint Target::Due(TimePoint start) const {
  return calendar != nullptr ? calendar->Add(start, within) : start + within;
}

Duration Target::Remaining(TimePoint now, TimePoint due) const {
  if (due <= now) return Duration::zero();
  return calendar != nullptr ? calendar->OpenBetween(now, due)
                             : std::chrono::floor<Duration>(due - now);
}

TimePoint Target::Resume(TimePoint at, Duration remaining) const {
  return calendar != nullptr ? calendar->Add(at, remaining) : at + remaining;
}

// ---- Policy ----

const Policy& Policy::Defaults() {
  static const Policy* shipped = [] {
    Policy base;
    // The two roles no file sets.
    RolePolicy admin;
    admin.may = {"*"};
    admin.unlimited_credit = true;
    admin.approves_credits = true;
    base.roles_[domain::kRoleAdmin] = admin;
    RolePolicy service;
    service.may = {"JourneyExportService/*", "KeyService/*"};
    base.roles_[domain::kRoleService] = service;

    auto parsed = internal::ParseOver(std::move(base), internal::kShippedPolicy, "shipped policy");
    if (!parsed.ok()) ShippedPolicyBroken(std::string(parsed.status().message()));
    auto* p = new Policy(std::move(parsed).value());
    if (!p->fallback_.resolution) ShippedPolicyBroken("no sla.fallback_resolution");
    if (p->missed_call_callback_.within <= Duration::zero()) {
      ShippedPolicyBroken("no sla.missed_call_callback");
    }
    if (p->at_risk_at_ <= 0) ShippedPolicyBroken("no sla.at_risk_at");
    p->digest_ = Sha256Hex(p->source_);
    return p;
  }();
  return *shipped;
}

absl::StatusOr<Policy> Policy::Parse(std::string_view yaml, std::string_view origin) {
  if (yaml.size() > kMaxPolicyBytes) {
    return absl::InvalidArgumentError(Cat(origin, ": ", yaml.size(),
                                          " bytes is more than the limit of ", kMaxPolicyBytes,
                                          " bytes (1 MiB) for a policy file"));
  }
  auto parsed = internal::ParseOver(Defaults(), yaml, origin);
  if (!parsed.ok()) return parsed.status();
  parsed->digest_ = Sha256Hex(parsed->source_);
  return parsed;
}

absl::StatusOr<Policy> Policy::Load(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    return absl::NotFoundError(Cat("cannot read policy file ", name, ": no such file"));
  }
  if (ec) {
    return absl::FailedPreconditionError(Cat("cannot read policy file ", name, ": ", ec.message()));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return absl::InvalidArgumentError(Cat(name, ": not a regular file"));
  }
  const uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec)
    return absl::FailedPreconditionError(Cat("cannot read policy file ", name, ": ", ec.message()));
  auto too_big = [&](uintmax_t bytes) {
    return absl::InvalidArgumentError(Cat(name, ": ", static_cast<uint64_t>(bytes),
                                          " bytes is more than the limit of ", kMaxPolicyBytes,
                                          " bytes (1 MiB) for a policy file"));
  };
  if (size > kMaxPolicyBytes) return too_big(size);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        Cat("cannot read policy file ", name, ": ", std::strerror(errno)));
  }
  // One byte more than the limit: a file that grew since the size was
  // taken is refused too, not cut short.
  std::string text(kMaxPolicyBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return absl::FailedPreconditionError(Cat("cannot read policy file ", name, ": read failed"));
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxPolicyBytes) return too_big(text.size());
  return Parse(text, name);
}

const Calendar* Policy::FindCalendar(std::string_view name) const {
  auto it = calendars_.find(name);
  return it == calendars_.end() ? nullptr : it->second.get();
}

const TicketTargets& Policy::TicketTarget(v1::TicketCategory category,
                                          v1::TicketPriority priority) const {
  auto it = tickets_.find({category, priority});
  return it == tickets_.end() ? fallback_ : it->second;
}

const Target& Policy::EscalatedTarget(v1::SupportTier tier) const {
  auto it = escalated_.find(tier);
  return it == escalated_.end() ? FallbackResolution() : it->second;
}

std::string Policy::Summary() const {
  std::string out;
  // Calendars.
  out += "calendars:";
  if (calendars_.empty()) out += " none (every target is wall-clock time)";
  for (const auto& [name, c] : calendars_) {
    const auto week = std::chrono::duration_cast<std::chrono::minutes>(c->OpenPerWeek()).count();
    const std::string open =
        week % 60 == 0 ? Cat(week / 60, "h") : Cat(week / 60, "h", week % 60, "m");
    const size_t holidays = c->holidays().size();
    out += Cat(" ", name, " (", c->time_zone(), ", ", open, " a week, ", holidays,
               holidays == 1 ? " holiday);" : " holidays);");
  }
  if (out.back() == ';') out.pop_back();
  out += "\n";
  // Tickets.
  size_t first = 0, business = 0;
  for (const auto& [pair, t] : tickets_) {
    if (t.first_response) ++first;
    if ((t.first_response && t.first_response->calendar) ||
        (t.resolution && t.resolution->calendar)) {
      ++business;
    }
  }
  out +=
      Cat("tickets: targets for ", tickets_.size(), " category/priority pairs, ", first,
          " with a first-response target, ", business,
          " in business hours; otherwise resolution within ", Format(FallbackResolution()), "\n");
  // The other clocks.
  out += "escalated:";
  for (const auto& [tier, t] : escalated_) {
    std::string tier_name = v1::SupportTier_Name(tier).substr(sizeof("SUPPORT_TIER_") - 1);
    for (char& ch : tier_name) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    out += Cat(" ", tier_name, " ", Format(t), ",");
  }
  if (out.back() == ',') out.pop_back();
  char fraction[32];
  std::snprintf(fraction, sizeof(fraction), "%g", at_risk_at_);
  out += Cat("; missed-call callback ", Format(missed_call_callback_), "; at risk at ", fraction,
             " of a target; reopen: ",
             reopen_ == ReopenRule::kFullTarget ? "full target" : "remaining time", "\n");
  // Roles.
  for (const auto& [name, r] : roles_) {
    out += Cat("role ", name, ":");
    if (r.may.empty()) out += " may call nothing";
    for (size_t i = 0; i < r.may.size(); ++i) out += Cat(i == 0 ? " " : ", ", r.may[i]);
    if (r.unlimited_credit) {
      out += "; credit unlimited";
    } else if (r.credit_limit) {
      out += Cat("; credit up to ", Format(*r.credit_limit), " a grant");
    }
    if (r.credit_limit_per_30_days) {
      out += Cat("; at most ", Format(*r.credit_limit_per_30_days), " a customer in 30 days");
    }
    if (r.approves_credits) out += "; approves credits";
    out += "\n";
  }
  return out;
}

}  // namespace threadline::policy
