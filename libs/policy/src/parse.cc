// ParseOver: a policy file's YAML tree, checked key by key, laid over a
// base policy (the defaults). Every refusal names the line and the key path.

#include "parse.h"

#include <google/protobuf/generated_enum_reflection.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calendar_checks.h"
#include "text.h"
#include "threadline/common/status.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/roles.h"
#include "threadline/domain/validate.h"
#include "threadline/policy/policy.h"
#include "yaml_tree.h"

namespace threadline::policy::internal {
namespace {

using domain::Cat;
using Kind = YamlNode::Kind;

constexpr size_t kMaxCalendars = 100;
constexpr size_t kMaxRules = 200;
constexpr auto kMaxTarget = std::chrono::hours(24 * 365);

// The roles a file may set, in the order messages list them.
constexpr std::string_view kSettableRoles[] = {
    domain::kRoleSales,      domain::kRoleInstallation, domain::kRoleSupport, domain::kRoleBilling,
    domain::kRoleSupervisor, domain::kRoleDashboard,    domain::kRolePrivacy};

std::string Join(const auto& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string Child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : Cat(path, ".", key);
}

std::string Indexed(std::string_view path, size_t i) {
  return Cat(path, "[", static_cast<uint64_t>(i), "]");
}

// What a node is, for "expected ...; got ..." messages.
std::string Described(const YamlNode& n) {
  switch (n.kind) {
    case Kind::kNull:
      return "nothing";
    case Kind::kScalar:
      return Quote(n.scalar);
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "something else";
}

// "4h", "30m", "3d", "1h30m": units in the order d, h, m, each at most once.
absl::StatusOr<Duration> ParseDuration(std::string_view s) {
  const std::string how = "write minutes, hours or days such as 30m, 4h, 3d or 1h30m";
  if (!s.empty() && s[0] == '-') {
    return absl::InvalidArgumentError(
        Cat(Quote(s), " is negative; a target must be longer than 0"));
  }
  std::chrono::minutes total{0};
  size_t i = 0;
  int last_unit = -1;  // index into "dhm" of the last unit read
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    if (j == i || j == s.size() || j - i > 6) {
      const bool bare = j == s.size() && j > i && i == 0;
      return absl::InvalidArgumentError(
          Cat(Quote(s), " is not a duration; ", how, bare ? " (a number needs its unit)" : ""));
    }
    const int unit = s[j] == 'd' ? 0 : s[j] == 'h' ? 1 : s[j] == 'm' ? 2 : -1;
    if (unit <= last_unit) {
      return absl::InvalidArgumentError(Cat(Quote(s), " is not a duration; ", how));
    }
    int64_t n = 0;
    for (size_t k = i; k < j; ++k) n = n * 10 + (s[k] - '0');
    total += std::chrono::minutes(n * (unit == 0 ? 24 * 60 : unit == 1 ? 60 : 1));
    last_unit = unit;
    i = j + 1;
  }
  if (s.empty()) return absl::InvalidArgumentError(Cat("'' is not a duration; ", how));
  if (total <= std::chrono::minutes(0)) {
    return absl::InvalidArgumentError(Cat(Quote(s), " is zero; a target must be longer than 0"));
  }
  if (total > kMaxTarget) {
    return absl::InvalidArgumentError(
        Cat(Quote(s), " is more than 365 days, the longest target a policy takes"));
  }
  return total;
}

// "2026-12-24", a real date from 2000 to 2099.
std::optional<date::year_month_day> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8}, lengths[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (size_t k = starts[p]; k < starts[p] + lengths[p]; ++k) {
      if (!IsDigit(s[k])) return std::nullopt;
      parts[p] = parts[p] * 10 + (s[k] - '0');
    }
  }
  date::year_month_day d{date::year(parts[0]), date::month(static_cast<unsigned>(parts[1])),
                         date::day(static_cast<unsigned>(parts[2]))};
  if (!d.ok() || parts[0] < 2000 || parts[0] > 2099) return std::nullopt;
  return d;
}

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64 || IsDigit(s[0])) return false;
  for (char c : s) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

// "*", "Service/*" or "Service/Method": syntax only.
bool IsMethodPattern(std::string_view s) {
  if (s == "*") return true;
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view service = s.substr(0, slash), method = s.substr(slash + 1);
  constexpr std::string_view kSuffix = "Service";
  if (!IsIdentifier(service) || service.size() <= kSuffix.size() ||
      service.substr(service.size() - kSuffix.size()) != kSuffix) {
    return false;
  }
  return method == "*" || IsIdentifier(method);
}

// A proto enum value by its name without `prefix`, in lower case
// ("complaint" for TICKET_CATEGORY_COMPLAINT). `known` lists the names.
template <typename E>
std::optional<E> EnumByName(std::string_view prefix, std::string_view name, std::string* known) {
  const auto* descriptor = google::protobuf::GetEnumDescriptor<E>();
  std::optional<E> found;
  std::vector<std::string> names;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const auto* v = descriptor->value(i);
    if (v->number() == 0) continue;
    std::string shown = v->name().substr(prefix.size());
    std::transform(shown.begin(), shown.end(), shown.begin(), [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    if (shown == name) found = static_cast<E>(v->number());
    names.push_back(std::move(shown));
  }
  *known = Join(names);
  return found;
}

// One key of a map, checked: a scalar, not repeated, known.
struct Entry {
  std::string key;
  const YamlNode* key_node;
  const YamlNode* value;
};

}  // namespace

class Parser {
 public:
  Parser(std::string_view origin, Policy base) : origin_(origin), p_(std::move(base)) {}

  absl::StatusOr<Policy> Run(std::string_view yaml) {
    ASSIGN_OR_RETURN(YamlNode root, ParseYaml(yaml, origin_));
    if (root.kind != Kind::kNull) {
      ASSIGN_OR_RETURN(auto top, Map(root, "", {"calendars", "sla", "roles"},
                                     "a map with the sections calendars, sla and roles"));
      // Calendars first, wherever they are in the file: targets name them.
      if (const auto* n = Find(top, "calendars")) RETURN_IF_ERROR(Calendars(*n));
      if (const auto* n = Find(top, "sla")) RETURN_IF_ERROR(Sla(*n));
      if (const auto* n = Find(top, "roles")) RETURN_IF_ERROR(Roles(*n));
    }
    Relink();
    p_.source_ = std::string(yaml);
    return std::move(p_);
  }

 private:
  absl::Status Error(const YamlNode& at, std::string_view path, std::string_view what) const {
    const std::string where = at.line > 0 ? Cat(origin_, ":", at.line, ": ") : Cat(origin_, ": ");
    if (path.empty()) return absl::InvalidArgumentError(Cat(where, what));
    return absl::InvalidArgumentError(Cat(where, path, ": ", what));
  }

  // The entries of a map (nothing counts as an empty map), each key a
  // scalar, not repeated and, unless `known` is empty, one of `known`.
  absl::StatusOr<std::vector<Entry>> Map(const YamlNode& n, std::string_view path,
                                         std::initializer_list<std::string_view> known,
                                         std::string_view expected) const {
    std::vector<Entry> out;
    if (n.kind == Kind::kNull) return out;
    if (n.kind != Kind::kMap) {
      return Error(n, path, Cat("expected ", expected, "; got ", Described(n)));
    }
    for (size_t i = 0; i + 1 < n.items.size(); i += 2) {
      const YamlNode& k = n.items[i];
      if (k.kind != Kind::kScalar) {
        return Error(k, path, Cat("a key must be a plain name; got ", Described(k)));
      }
      const std::string key_path = Child(path, Sanitized(k.scalar));
      if (known.size() > 0 &&
          std::find(known.begin(), known.end(), std::string_view(k.scalar)) == known.end()) {
        return Error(k, key_path, Cat("unknown key; known: ", Join(known)));
      }
      for (const Entry& e : out) {
        if (e.key == k.scalar) {
          return Error(k, key_path, Cat("repeated key (first at line ", e.key_node->line, ")"));
        }
      }
      out.push_back(Entry{k.scalar, &k, &n.items[i + 1]});
    }
    return out;
  }

  static const YamlNode* Find(const std::vector<Entry>& entries, std::string_view key) {
    for (const Entry& e : entries) {
      if (e.key == key) return e.value;
    }
    return nullptr;
  }

  absl::StatusOr<std::vector<const YamlNode*>> List(const YamlNode& n, std::string_view path,
                                                    std::string_view expected) const {
    std::vector<const YamlNode*> out;
    if (n.kind == Kind::kNull) return out;
    if (n.kind != Kind::kSequence) {
      return Error(n, path, Cat("expected ", expected, "; got ", Described(n)));
    }
    for (const YamlNode& item : n.items) out.push_back(&item);
    return out;
  }

  absl::StatusOr<std::string> Scalar(const YamlNode& n, std::string_view path,
                                     std::string_view expected) const {
    if (n.kind != Kind::kScalar) {
      return Error(n, path, Cat("expected ", expected, "; got ", Described(n)));
    }
    return n.scalar;
  }

  absl::StatusOr<bool> Bool(const YamlNode& n, std::string_view path) const {
    ASSIGN_OR_RETURN(std::string s, Scalar(n, path, "true or false"));
    if (s == "true") return true;
    if (s == "false") return false;
    return Error(n, path, Cat("expected true or false; got ", Quote(s)));
  }

  // ---- calendars ----

  absl::Status Calendars(const YamlNode& n) {
    ASSIGN_OR_RETURN(auto entries, Map(n, "calendars", {}, "a map of calendars by name"));
    if (entries.size() > kMaxCalendars) {
      return Error(
          n, "calendars",
          Cat(static_cast<uint64_t>(entries.size()), " calendars is more than the limit of ",
              static_cast<uint64_t>(kMaxCalendars)));
    }
    for (const Entry& e : entries) {
      const std::string path = Child("calendars", e.key);
      if (!IsName(e.key)) {
        return Error(*e.key_node, Child("calendars", Sanitized(e.key)),
                     "not a calendar name; use letters, digits, '-', '_' and '.' (at most 64)");
      }
      ASSIGN_OR_RETURN(Calendar c, OneCalendar(e.key, *e.value, path));
      p_.calendars_[e.key] = std::make_shared<const Calendar>(std::move(c));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Calendar> OneCalendar(const std::string& name, const YamlNode& n,
                                       const std::string& path) {
    ASSIGN_OR_RETURN(auto fields, Map(n, path, {"time_zone", "hours", "holidays"},
                                      "a map with time_zone, hours and holidays"));
    const YamlNode* tz_node = Find(fields, "time_zone");
    if (tz_node == nullptr) {
      return Error(n, path, "time_zone is required, an IANA name such as Europe/Berlin");
    }
    const std::string tz_path = Child(path, "time_zone");
    ASSIGN_OR_RETURN(std::string tz,
                     Scalar(*tz_node, tz_path, "an IANA name such as Europe/Berlin"));
    if (FindTimeZone(tz) == nullptr) {
      return Error(*tz_node, tz_path,
                   Cat(Quote(tz),
                       " is not a time zone of the tz database; use an IANA name such as "
                       "Europe/Berlin"));
    }

    std::array<std::vector<Period>, 7> periods;
    const YamlNode* hours = Find(fields, "hours");
    const std::string hours_path = Child(path, "hours");
    if (hours != nullptr) {
      ASSIGN_OR_RETURN(auto days,
                       Map(*hours, hours_path, {"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
                           "a map of weekdays (mon ... sun) to lists of periods"));
      for (const Entry& d : days) {
        const size_t day = static_cast<size_t>(
            std::find(std::begin(kWeekdayNames), std::end(kWeekdayNames), d.key) -
            std::begin(kWeekdayNames));
        const std::string day_path = Child(hours_path, d.key);
        ASSIGN_OR_RETURN(auto items,
                         List(*d.value, day_path, "a list of periods such as [\"08:00-12:00\"]"));
        for (size_t i = 0; i < items.size(); ++i) {
          const std::string item_path = Indexed(day_path, i);
          ASSIGN_OR_RETURN(std::string text,
                           Scalar(*items[i], item_path, "a period such as \"08:00-12:00\""));
          auto period = ParsePeriod(text);
          if (!period.ok())
            return Error(*items[i], item_path, std::string(period.status().message()));
          periods[day].push_back(*period);
          if (auto problem = CheckDay(periods[day])) {
            return Error(*items[i], item_path, problem->message);
          }
        }
      }
    }
    if (std::all_of(periods.begin(), periods.end(), [](const auto& d) { return d.empty(); })) {
      return Error(hours != nullptr ? *hours : n, hours != nullptr ? hours_path : path,
                   "no open hours in the week; a calendar needs at least one period, such as "
                   "mon: [\"08:00-18:00\"]");
    }

    std::vector<date::year_month_day> holidays;
    if (const YamlNode* h = Find(fields, "holidays")) {
      const std::string h_path = Child(path, "holidays");
      ASSIGN_OR_RETURN(auto items, List(*h, h_path, "a list of dates such as [\"2026-12-25\"]"));
      if (items.size() > Calendar::kMaxHolidays) {
        return Error(
            *h, h_path,
            Cat(static_cast<uint64_t>(items.size()), " holidays is more than the limit of ",
                static_cast<uint64_t>(Calendar::kMaxHolidays)));
      }
      for (size_t i = 0; i < items.size(); ++i) {
        const std::string item_path = Indexed(h_path, i);
        ASSIGN_OR_RETURN(std::string text,
                         Scalar(*items[i], item_path, "a date such as 2026-12-25"));
        auto d = ParseDate(text);
        if (!d) {
          return Error(*items[i], item_path,
                       Cat(Quote(text),
                           " is not a date; write YYYY-MM-DD such as 2026-12-25 (a real day, "
                           "years 2000 to 2099)"));
        }
        holidays.push_back(*d);
      }
    }
    auto c = Calendar::Make(name, tz, std::move(periods), std::move(holidays));
    if (!c.ok()) return Error(n, path, std::string(c.status().message()));
    return std::move(c).value();
  }

  // ---- targets ----

  absl::StatusOr<Target> OneTarget(const YamlNode& n, const std::string& path) const {
    ASSIGN_OR_RETURN(auto fields, Map(n, path, {"within", "calendar"},
                                      "a target such as {within: 4h, calendar: office}"));
    Target t;
    const YamlNode* within = Find(fields, "within");
    if (within == nullptr) return Error(n, path, "within is required, a duration such as 4h");
    const std::string within_path = Child(path, "within");
    ASSIGN_OR_RETURN(std::string text, Scalar(*within, within_path, "a duration such as 4h"));
    auto d = ParseDuration(text);
    if (!d.ok()) return Error(*within, within_path, std::string(d.status().message()));
    t.within = *d;
    if (const YamlNode* cal = Find(fields, "calendar")) {
      const std::string cal_path = Child(path, "calendar");
      ASSIGN_OR_RETURN(std::string name, Scalar(*cal, cal_path, "the name of a calendar"));
      if (p_.FindCalendar(name) == nullptr) {
        std::vector<std::string_view> names;
        for (const auto& [known, c] : p_.calendars_) names.push_back(known);
        return Error(*cal, cal_path,
                     Cat("unknown calendar ", Quote(name),
                         names.empty() ? std::string("; the file defines no calendars")
                                       : Cat("; calendars: ", Join(names))));
      }
      t.calendar_name = name;  // linked to the calendar by Relink()
    }
    return t;
  }

  // ---- sla ----

  absl::Status Sla(const YamlNode& n) {
    ASSIGN_OR_RETURN(auto fields, Map(n, "sla",
                                      {"tickets", "fallback_resolution", "escalated",
                                       "missed_call_callback", "at_risk_at", "reopen"},
                                      "a map of service-level settings"));
    // The fallback first: a pair new to the policy keeps it as resolution.
    if (const YamlNode* f = Find(fields, "fallback_resolution")) {
      ASSIGN_OR_RETURN(Target target, OneTarget(*f, "sla.fallback_resolution"));
      p_.fallback_.resolution = std::move(target);
    }
    if (const YamlNode* t = Find(fields, "tickets")) RETURN_IF_ERROR(Tickets(*t));
    if (const YamlNode* e = Find(fields, "escalated")) {
      ASSIGN_OR_RETURN(auto tiers, Map(*e, "sla.escalated", {"l1", "l2", "supervisor"},
                                       "a map of tiers (l2, supervisor) to targets"));
      for (const Entry& tier : tiers) {
        ASSIGN_OR_RETURN(Target target, OneTarget(*tier.value, Child("sla.escalated", tier.key)));
        const v1::SupportTier t = tier.key == "l1"   ? v1::SUPPORT_TIER_L1
                                  : tier.key == "l2" ? v1::SUPPORT_TIER_L2
                                                     : v1::SUPPORT_TIER_SUPERVISOR;
        p_.escalated_[t] = std::move(target);
      }
    }
    if (const YamlNode* m = Find(fields, "missed_call_callback")) {
      ASSIGN_OR_RETURN(p_.missed_call_callback_, OneTarget(*m, "sla.missed_call_callback"));
    }
    if (const YamlNode* a = Find(fields, "at_risk_at")) {
      const std::string path = "sla.at_risk_at";
      ASSIGN_OR_RETURN(std::string text, Scalar(*a, path, "a fraction such as 0.8"));
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v <= 0 ||
          v >= 1) {
        return Error(*a, path,
                     Cat(Quote(text),
                         " is not a fraction between 0 and 1 (both excluded); write one such "
                         "as 0.8"));
      }
      p_.at_risk_at_ = v;
    }
    if (const YamlNode* r = Find(fields, "reopen")) {
      ASSIGN_OR_RETURN(std::string text, Scalar(*r, "sla.reopen", "full_target or remaining"));
      if (text == "full_target") {
        p_.reopen_ = ReopenRule::kFullTarget;
      } else if (text == "remaining") {
        p_.reopen_ = ReopenRule::kRemaining;
      } else {
        return Error(*r, "sla.reopen",
                     Cat(Quote(text), " is not a rule; use full_target or remaining"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Tickets(const YamlNode& n) {
    ASSIGN_OR_RETURN(auto items, List(n, "sla.tickets", "a list of ticket targets"));
    // Where each pair was given, to refuse a second entry for it.
    std::map<std::pair<v1::TicketCategory, v1::TicketPriority>, std::pair<size_t, int>> seen;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string path = Indexed("sla.tickets", i);
      const YamlNode& item = *items[i];
      ASSIGN_OR_RETURN(auto fields,
                       Map(item, path, {"category", "priority", "first_response", "resolution"},
                           "a map with category, priority, first_response and resolution"));
      const YamlNode* cat_node = Find(fields, "category");
      const YamlNode* prio_node = Find(fields, "priority");
      if (cat_node == nullptr || prio_node == nullptr) {
        return Error(item, path, "category and priority are required");
      }
      std::string known;
      const std::string cat_path = Child(path, "category");
      ASSIGN_OR_RETURN(std::string cat_name, Scalar(*cat_node, cat_path, "a ticket category"));
      auto category = EnumByName<v1::TicketCategory>("TICKET_CATEGORY_", cat_name, &known);
      if (!category) {
        return Error(*cat_node, cat_path,
                     Cat("unknown category ", Quote(cat_name), "; categories: ", known));
      }
      const std::string prio_path = Child(path, "priority");
      ASSIGN_OR_RETURN(std::string prio_name, Scalar(*prio_node, prio_path, "a ticket priority"));
      auto priority = EnumByName<v1::TicketPriority>("TICKET_PRIORITY_", prio_name, &known);
      if (!priority) {
        return Error(*prio_node, prio_path,
                     Cat("unknown priority ", Quote(prio_name), "; priorities: ", known));
      }
      const auto key = std::make_pair(*category, *priority);
      if (auto it = seen.find(key); it != seen.end()) {
        return Error(
            item, path,
            Cat(cat_name, "/", prio_name, " is already given at ",
                Indexed("sla.tickets", it->second.first), " (line ", it->second.second, ")"));
      }
      seen.emplace(key, std::make_pair(i, item.line));
      const YamlNode* first = Find(fields, "first_response");
      const YamlNode* resolution = Find(fields, "resolution");
      if (first == nullptr && resolution == nullptr) {
        return Error(item, path, "give first_response, resolution or both");
      }
      TicketTargets& targets = p_.tickets_[key];
      targets.category = *category;
      targets.priority = *priority;
      if (first != nullptr) {
        ASSIGN_OR_RETURN(targets.first_response, OneTarget(*first, Child(path, "first_response")));
      }
      if (resolution != nullptr) {
        ASSIGN_OR_RETURN(targets.resolution, OneTarget(*resolution, Child(path, "resolution")));
      }
      // A pair the defaults do not list keeps the fallback resolution.
      if (!targets.resolution) targets.resolution = p_.fallback_.resolution;
    }
    return absl::OkStatus();
  }

  // ---- roles ----

  absl::Status Roles(const YamlNode& n) {
    ASSIGN_OR_RETURN(auto entries, Map(n, "roles", {}, "a map of roles by name"));
    for (const Entry& e : entries) {
      if (e.key == domain::kRoleAdmin) {
        return Error(*e.key_node, "roles.admin",
                     "admin is fixed (it may do everything, with unlimited credit) and is not "
                     "set in a policy file; remove it");
      }
      if (e.key == domain::kRoleService) {
        return Error(*e.key_node, "roles.service",
                     "service is fixed (the role of the deployment's own processes) and is not "
                     "set in a policy file; remove it");
      }
      if (std::find(std::begin(kSettableRoles), std::end(kSettableRoles), e.key) ==
          std::end(kSettableRoles)) {
        return Error(*e.key_node, Child("roles", Sanitized(e.key)),
                     Cat("unknown role; roles: ", Join(kSettableRoles)));
      }
      ASSIGN_OR_RETURN(RolePolicy role, OneRole(*e.value, Child("roles", e.key)));
      p_.roles_[e.key] = std::move(role);  // replaces the default entry entirely
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RolePolicy> OneRole(const YamlNode& n, const std::string& path) const {
    ASSIGN_OR_RETURN(
        auto fields,
        Map(n, path, {"may", "credit_limit", "credit_limit_per_30_days", "approves_credits"},
            "a map with may, credit_limit, credit_limit_per_30_days and "
            "approves_credits"));
    RolePolicy role;
    const YamlNode* may = Find(fields, "may");
    if (may == nullptr) {
      return Error(n, path,
                   "may is required: the role's entry replaces the default one; write may: [] "
                   "for a role that may call nothing");
    }
    const std::string may_path = Child(path, "may");
    ASSIGN_OR_RETURN(auto rules,
                     List(*may, may_path, "a list of methods such as [\"SupportService/*\"]"));
    if (rules.size() > kMaxRules) {
      return Error(*may, may_path,
                   Cat(static_cast<uint64_t>(rules.size()), " rules is more than the limit of ",
                       static_cast<uint64_t>(kMaxRules)));
    }
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string rule_path = Indexed(may_path, i);
      ASSIGN_OR_RETURN(std::string rule,
                       Scalar(*rules[i], rule_path, "a method such as \"SupportService/*\""));
      if (!IsMethodPattern(rule)) {
        return Error(*rules[i], rule_path,
                     Cat(Quote(rule),
                         " is not a method pattern; write Service/Method "
                         "(BillingService/GrantCredit), Service/* (SupportService/*) or *"));
      }
      role.may.push_back(std::move(rule));
    }
    if (const YamlNode* limit = Find(fields, "credit_limit")) {
      const std::string limit_path = Child(path, "credit_limit");
      if (limit->kind == Kind::kScalar && limit->scalar == "unlimited") {
        role.unlimited_credit = true;
      } else if (limit->kind == Kind::kMap) {
        ASSIGN_OR_RETURN(role.credit_limit, Money(*limit, limit_path));
      } else {
        return Error(*limit, limit_path,
                     Cat("expected {amount_minor: 2000, currency: EUR} or unlimited; got ",
                         Described(*limit)));
      }
    }
    if (const YamlNode* limit = Find(fields, "credit_limit_per_30_days")) {
      ASSIGN_OR_RETURN(role.credit_limit_per_30_days,
                       Money(*limit, Child(path, "credit_limit_per_30_days")));
    }
    if (const YamlNode* approves = Find(fields, "approves_credits")) {
      ASSIGN_OR_RETURN(role.approves_credits, Bool(*approves, Child(path, "approves_credits")));
    }
    return role;
  }

  absl::StatusOr<v1::Money> Money(const YamlNode& n, const std::string& path) const {
    ASSIGN_OR_RETURN(auto fields, Map(n, path, {"amount_minor", "currency"},
                                      "an amount such as {amount_minor: 2000, currency: EUR}"));
    const YamlNode* amount = Find(fields, "amount_minor");
    const YamlNode* currency = Find(fields, "currency");
    if (amount == nullptr || currency == nullptr) {
      return Error(n, path,
                   "amount_minor and currency are required ({amount_minor: 2000, currency: EUR} is "
                   "20.00 EUR)");
    }
    v1::Money m;
    const std::string amount_path = Child(path, "amount_minor");
    ASSIGN_OR_RETURN(std::string text,
                     Scalar(*amount, amount_path, "a whole number of minor units"));
    int64_t minor = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), minor);
    if (ec != std::errc() || end != text.data() + text.size() || minor < 0 ||
        minor > domain::kMaxAmountMinor) {
      return Error(*amount, amount_path,
                   Cat(Quote(text),
                       " is not an amount; write a whole number of minor units, 0 or more "
                       "(2000 is 20.00)"));
    }
    m.set_amount_minor(minor);
    const std::string currency_path = Child(path, "currency");
    ASSIGN_OR_RETURN(std::string code,
                     Scalar(*currency, currency_path, "an ISO 4217 code such as EUR"));
    if (!domain::IsKnownCurrency(code)) {
      return Error(*currency, currency_path,
                   Cat(Quote(code),
                       " is not an ISO 4217 currency code; use three upper-case letters such as "
                       "EUR"));
    }
    m.set_currency(code);
    return m;
  }

  // Points every target at the calendar of its name in this policy, those
  // inherited from the base included.
  void Relink() {
    auto link = [this](Target& t) {
      t.calendar = t.calendar_name.empty() ? nullptr : p_.FindCalendar(t.calendar_name);
    };
    auto link_opt = [&](std::optional<Target>& t) {
      if (t) link(*t);
    };
    for (auto& [key, targets] : p_.tickets_) {
      link_opt(targets.first_response);
      link_opt(targets.resolution);
    }
    link_opt(p_.fallback_.first_response);
    link_opt(p_.fallback_.resolution);
    for (auto& [tier, t] : p_.escalated_) link(t);
    link(p_.missed_call_callback_);
  }

  std::string origin_;
  Policy p_;
};

absl::StatusOr<Policy> ParseOver(Policy base, std::string_view yaml, std::string_view origin) {
  return Parser(origin, std::move(base)).Run(yaml);
}

}  // namespace threadline::policy::internal
