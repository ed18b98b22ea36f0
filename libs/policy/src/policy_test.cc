#include "threadline/policy/policy.h"

#include <date/tz.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "defaults.h"
#include "threadline/billing/domain.h"
#include "threadline/domain/roles.h"
#include "threadline/testing/testing.h"

namespace threadline::policy {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace date::literals;

// The example of the issue that asked for policy files, as an operator
// would write it.
constexpr std::string_view kExample = R"(calendars:
  berlin-office:
    time_zone: Europe/Berlin
    hours:                      # weekdays not listed are closed
      mon: ["08:00-12:00", "13:00-18:00"]
      tue: ["08:00-12:00", "13:00-18:00"]
      wed: ["08:00-12:00", "13:00-18:00"]
      thu: ["08:00-12:00", "13:00-18:00"]
      fri: ["08:00-12:00", "13:00-16:00"]
    holidays: ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"]
sla:
  tickets:
    - category: complaint       # TicketCategory without its prefix, lower case
      priority: high
      first_response: {within: 2h, calendar: berlin-office}
      resolution: {within: 8h, calendar: berlin-office}
    - category: question
      priority: normal
      first_response: {within: 4h}        # no calendar: wall-clock time
      resolution: {within: 3d}
  missed_call_callback: {within: 2h, calendar: berlin-office}
  at_risk_at: 0.8
roles:
  support:
    may: ["SupportService/*", "BillingService/GrantCredit",
          "InstallationService/ProposeAppointment", "InstallationService/ConfirmAppointment",
          "InstallationService/DeclineAppointment", "SalesService/LogContact", "JourneyService/*"]
    credit_limit: {amount_minor: 2000, currency: EUR}
)";

std::string Utc(TimePoint t) {
  return date::format("%F %T UTC", std::chrono::floor<std::chrono::seconds>(t));
}

TimePoint Berlin(date::year_month_day day, minutes time) {
  return date::locate_zone("Europe/Berlin")->to_sys(date::local_days(day) + time);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// The message of a refused policy text (empty, with a failure, if it was
// accepted).
std::string Refusal(std::string_view yaml) {
  auto p = Policy::Parse(yaml, "p.yaml");
  EXPECT_FALSE(p.ok()) << "accepted:\n" << yaml;
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << p.status();
  return Message(p.status());
}

const v1::TicketCategory kCategories[] = {v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_CATEGORY_FAULT,
                                          v1::TICKET_CATEGORY_QUESTION, v1::TICKET_CATEGORY_BILLING,
                                          v1::TICKET_CATEGORY_CANCELLATION};
const v1::TicketPriority kPriorities[] = {v1::TICKET_PRIORITY_URGENT, v1::TICKET_PRIORITY_HIGH,
                                          v1::TICKET_PRIORITY_NORMAL, v1::TICKET_PRIORITY_LOW};

// ---- The example file ----

TEST(PolicyTest, TheExampleFileMeansWhatItSays) {
  auto parsed = Policy::Parse(kExample, "policy.yaml");
  ASSERT_OK(parsed);
  const Policy& p = *parsed;

  const Calendar* office = p.FindCalendar("berlin-office");
  ASSERT_NE(office, nullptr);
  EXPECT_EQ(office->time_zone(), "Europe/Berlin");
  const std::vector<Period> day = {{8 * 60, 12 * 60}, {13 * 60, 18 * 60}};
  for (int d = 0; d < 4; ++d) EXPECT_EQ(office->periods()[d], day) << d;
  EXPECT_EQ(office->periods()[4], (std::vector<Period>{{8 * 60, 12 * 60}, {13 * 60, 16 * 60}}));
  EXPECT_TRUE(office->periods()[5].empty());
  EXPECT_TRUE(office->periods()[6].empty());
  EXPECT_THAT(office->holidays(),
              ElementsAre(date::local_days(2026_y / 12 / 24), date::local_days(2026_y / 12 / 25),
                          date::local_days(2026_y / 12 / 26), date::local_days(2027_y / 1 / 1)));
  EXPECT_EQ(p.FindCalendar("elsewhere"), nullptr);

  const TicketTargets& complaint =
      p.TicketTarget(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_HIGH);
  EXPECT_EQ(complaint.category, v1::TICKET_CATEGORY_COMPLAINT);
  EXPECT_EQ(complaint.priority, v1::TICKET_PRIORITY_HIGH);
  ASSERT_TRUE(complaint.first_response);
  EXPECT_EQ(complaint.first_response->within, hours(2));
  EXPECT_EQ(complaint.first_response->calendar, office);
  EXPECT_EQ(complaint.first_response->calendar_name, "berlin-office");
  ASSERT_TRUE(complaint.resolution);
  EXPECT_EQ(complaint.resolution->within, hours(8));
  EXPECT_EQ(complaint.resolution->calendar, office);
  // Opened Friday 2026-06-05 15:00: 1 h to 16:00, then Monday from 08:00.
  EXPECT_EQ(Utc(complaint.first_response->Due(Berlin(2026_y / 6 / 5, hours(15)))),
            Utc(Berlin(2026_y / 6 / 8, hours(9))));

  const TicketTargets& question =
      p.TicketTarget(v1::TICKET_CATEGORY_QUESTION, v1::TICKET_PRIORITY_NORMAL);
  ASSERT_TRUE(question.first_response);
  EXPECT_EQ(question.first_response->within, hours(4));
  EXPECT_EQ(question.first_response->calendar, nullptr);
  EXPECT_EQ(question.first_response->calendar_name, "");
  ASSERT_TRUE(question.resolution);
  EXPECT_EQ(question.resolution->within, hours(72));
  EXPECT_EQ(question.resolution->calendar, nullptr);
  const TimePoint saturday = Berlin(2026_y / 6 / 6, hours(12));
  EXPECT_EQ(question.resolution->Due(saturday), saturday + hours(72));

  // What the file does not say keeps the default.
  const TicketTargets& urgent =
      p.TicketTarget(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_URGENT);
  EXPECT_FALSE(urgent.first_response);
  EXPECT_EQ(urgent.resolution->within, hours(4));
  EXPECT_EQ(urgent.resolution->calendar, nullptr);
  EXPECT_EQ(p.EscalatedTarget(v1::SUPPORT_TIER_L2).within, hours(8));
  EXPECT_EQ(p.reopen(), ReopenRule::kFullTarget);

  EXPECT_EQ(p.MissedCallCallback().within, hours(2));
  EXPECT_EQ(p.MissedCallCallback().calendar, office);
  EXPECT_DOUBLE_EQ(p.AtRiskAt(), 0.8);

  const RolePolicy& support = p.roles().at("support");
  EXPECT_THAT(support.may, ElementsAre("SupportService/*", "BillingService/GrantCredit",
                                       "InstallationService/ProposeAppointment",
                                       "InstallationService/ConfirmAppointment",
                                       "InstallationService/DeclineAppointment",
                                       "SalesService/LogContact", "JourneyService/*"));
  ASSERT_TRUE(support.credit_limit);
  EXPECT_EQ(support.credit_limit->amount_minor(), 2000);
  EXPECT_EQ(support.credit_limit->currency(), "EUR");
  EXPECT_FALSE(support.unlimited_credit);
  EXPECT_FALSE(support.approves_credits);
  EXPECT_FALSE(support.credit_limit_per_30_days);
  // Roles the file does not name keep theirs.
  EXPECT_EQ(p.roles().at("billing").credit_limit->amount_minor(), 5000);

  EXPECT_EQ(p.source(), kExample);
  EXPECT_EQ(p.digest().size(), 64u);
  EXPECT_NE(p.digest(), Policy::Defaults().digest());
  EXPECT_THAT(p.Summary(), HasSubstr("berlin-office (Europe/Berlin, 43h a week, 4 holidays)"));
  EXPECT_THAT(p.Summary(), HasSubstr("missed-call callback 2h in berlin-office hours"));
}

TEST(PolicyTest, TheDigestIsTheSha256OfTheText) {
  auto empty = Policy::Parse("", "p.yaml");
  ASSERT_OK(empty);
  EXPECT_EQ(empty->digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto abc = Policy::Parse("# abc\n", "p.yaml");
  ASSERT_OK(abc);
  EXPECT_NE(abc->digest(), empty->digest());
}

// ---- Defaults ----

// The targets support used before they came from a policy, hours per
// category (urgent / high / normal / low): a deployment without a policy
// file keeps them.
TEST(PolicyTest, DefaultsAreTheTargetsSupportHasAlwaysUsed) {
  const Policy& p = Policy::Defaults();
  const std::map<v1::TicketCategory, std::array<int, 4>> hours_by_priority = {
      {v1::TICKET_CATEGORY_COMPLAINT, {4, 8, 24, 48}},
      {v1::TICKET_CATEGORY_FAULT, {4, 8, 24, 72}},
      {v1::TICKET_CATEGORY_QUESTION, {8, 24, 48, 72}},
      {v1::TICKET_CATEGORY_BILLING, {8, 24, 48, 72}},
      {v1::TICKET_CATEGORY_CANCELLATION, {4, 8, 24, 24}},
  };
  const v1::TicketPriority order[] = {v1::TICKET_PRIORITY_URGENT, v1::TICKET_PRIORITY_HIGH,
                                      v1::TICKET_PRIORITY_NORMAL, v1::TICKET_PRIORITY_LOW};
  for (auto category : kCategories) {
    for (size_t i = 0; i < 4; ++i) {
      const TicketTargets& t = p.TicketTarget(category, order[i]);
      EXPECT_EQ(t.category, category);
      EXPECT_EQ(t.priority, order[i]);
      EXPECT_FALSE(t.first_response) << category << "/" << order[i];
      ASSERT_TRUE(t.resolution);
      EXPECT_EQ(t.resolution->within, hours(hours_by_priority.at(category)[i]))
          << category << "/" << order[i];
      EXPECT_EQ(t.resolution->calendar, nullptr);
    }
  }
  // The same numbers, written out, so a change to either side is seen.
  EXPECT_EQ(
      p.TicketTarget(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_LOW).resolution->within,
      hours(48));
  EXPECT_EQ(p.TicketTarget(v1::TICKET_CATEGORY_FAULT, v1::TICKET_PRIORITY_LOW).resolution->within,
            hours(72));
  EXPECT_EQ(
      p.TicketTarget(v1::TICKET_CATEGORY_QUESTION, v1::TICKET_PRIORITY_URGENT).resolution->within,
      hours(8));
  EXPECT_EQ(
      p.TicketTarget(v1::TICKET_CATEGORY_BILLING, v1::TICKET_PRIORITY_HIGH).resolution->within,
      hours(24));
  EXPECT_EQ(
      p.TicketTarget(v1::TICKET_CATEGORY_CANCELLATION, v1::TICKET_PRIORITY_LOW).resolution->within,
      hours(24));

  EXPECT_EQ(p.FallbackResolution().within, hours(72));
  const TicketTargets& unknown =
      p.TicketTarget(v1::TICKET_CATEGORY_UNSPECIFIED, v1::TICKET_PRIORITY_HIGH);
  EXPECT_FALSE(unknown.first_response);
  EXPECT_EQ(unknown.resolution->within, hours(72));
  for (auto tier : {v1::SUPPORT_TIER_L1, v1::SUPPORT_TIER_L2, v1::SUPPORT_TIER_SUPERVISOR}) {
    EXPECT_EQ(p.EscalatedTarget(tier).calendar, nullptr);
  }
  EXPECT_EQ(p.EscalatedTarget(v1::SUPPORT_TIER_L2).within, hours(8));
  EXPECT_EQ(p.EscalatedTarget(v1::SUPPORT_TIER_SUPERVISOR).within, hours(4));
  EXPECT_EQ(p.MissedCallCallback().within, hours(2));
  EXPECT_EQ(p.MissedCallCallback().calendar, nullptr);
  EXPECT_DOUBLE_EQ(p.AtRiskAt(), 0.8);
  EXPECT_EQ(p.reopen(), ReopenRule::kFullTarget);
  EXPECT_TRUE(p.calendars().empty());
}

// The limits billing has always applied: billing 50.00, support 20.00 EUR,
// supervisor and admin unlimited and approving; nobody else applies any.
TEST(PolicyTest, DefaultsAreTheCreditLimitsBillingHasAlwaysUsed) {
  const Policy& p = Policy::Defaults();
  const billing::CreditPolicy credit = billing::CreditPolicy::From(p);
  const std::map<std::string, int64_t> limit = {
      {"billing", 5000}, {"support", 2000}, {"supervisor", INT64_MAX}, {"admin", INT64_MAX}};
  for (const auto& [name, role] : p.roles()) {
    for (int64_t amount : {1, 1999, 2000, 2001, 4999, 5000, 5001, 1'000'000'000}) {
      v1::Money m;
      m.set_amount_minor(amount);
      m.set_currency("EUR");
      const bool applies = limit.contains(name) && amount <= limit.at(name);
      EXPECT_EQ(credit.AppliesDirectly(name, m), applies) << name << " " << amount;
    }
    EXPECT_EQ(credit.MayApprove(name), name == "supervisor" || name == "admin") << name;
    if (role.credit_limit) {
      EXPECT_EQ(role.credit_limit->currency(), "EUR") << name;
    }
    EXPECT_FALSE(role.credit_limit_per_30_days) << name;
  }
  EXPECT_EQ(p.roles().at("billing").credit_limit->amount_minor(), 5000);
  EXPECT_EQ(p.roles().at("support").credit_limit->amount_minor(), 2000);
  EXPECT_TRUE(p.roles().at("supervisor").unlimited_credit);
  EXPECT_TRUE(p.roles().at("admin").unlimited_credit);
  EXPECT_TRUE(p.roles().at("supervisor").approves_credits);
  EXPECT_TRUE(p.roles().at("admin").approves_credits);
  EXPECT_FALSE(p.roles().at("sales").credit_limit);
}

TEST(PolicyTest, DefaultRolesAreWhatTheServerGrantsPlusFrontLineSupport) {
  const auto& roles = Policy::Defaults().roles();
  auto may = [&](const char* role) { return roles.at(role).may; };
  EXPECT_THAT(may(domain::kRoleSales), ElementsAre("SalesService/*", "JourneyService/*"));
  EXPECT_THAT(may(domain::kRoleInstallation),
              ElementsAre("InstallationService/*", "JourneyService/*"));
  EXPECT_THAT(may(domain::kRoleSupport),
              ElementsAre("SupportService/*", "BillingService/GrantCredit",
                          "InstallationService/ProposeAppointment",
                          "InstallationService/ConfirmAppointment",
                          "InstallationService/DeclineAppointment", "SalesService/LogContact",
                          "JourneyService/*"));
  EXPECT_THAT(may(domain::kRoleBilling), ElementsAre("BillingService/*", "JourneyService/*"));
  EXPECT_THAT(may(domain::kRoleSupervisor),
              ElementsAre("SupportService/*", "BillingService/*", "JourneyService/*"));
  EXPECT_THAT(may(domain::kRoleDashboard), ElementsAre("JourneyService/*"));
  EXPECT_THAT(may(domain::kRolePrivacy),
              ElementsAre("JourneyService/*", "JourneyExportService/*", "PrivacyService/*"));
  EXPECT_THAT(may(domain::kRoleAdmin), ElementsAre("*"));
  EXPECT_THAT(may(domain::kRoleService), ElementsAre("JourneyExportService/*", "KeyService/*"));
  EXPECT_EQ(roles.size(), 9u);
}

TEST(PolicyTest, DefaultsAreTheShippedText) {
  const Policy& p = Policy::Defaults();
  EXPECT_EQ(p.source(), internal::kShippedPolicy);
  EXPECT_EQ(p.digest().size(), 64u);
  // Parsing the shipped text as a file changes nothing.
  auto again = Policy::Parse(p.source(), "shipped.yaml");
  ASSERT_OK(again);
  EXPECT_EQ(again->digest(), p.digest());
  EXPECT_EQ(again->Summary(), p.Summary());
}

TEST(PolicyTest, TheDocsShowTheShippedPolicyAndAValidExample) {
  std::ifstream in(std::string(THREADLINE_SOURCE_DIR) + "/docs/operations.md");
  ASSERT_TRUE(in) << "docs/operations.md";
  std::stringstream docs;
  docs << in.rdbuf();
  const std::string block = "```yaml\n" + std::string(internal::kShippedPolicy) + "```\n";
  EXPECT_NE(docs.str().find(block), std::string::npos)
      << "docs/operations.md must show the shipped policy (libs/policy/src/defaults.cc) verbatim";

  // The documented example is a valid file that means what its comments say.
  const std::string heading = "### Example\n\n```yaml\n";
  const size_t start = docs.str().find(heading);
  ASSERT_NE(start, std::string::npos) << "docs/operations.md: no example";
  const size_t from = start + heading.size();
  const std::string example = docs.str().substr(from, docs.str().find("```\n", from) - from);
  auto parsed = Policy::Parse(example, "docs/operations.md example");
  ASSERT_OK(parsed);
  const auto& fault = parsed->TicketTarget(v1::TICKET_CATEGORY_FAULT, v1::TICKET_PRIORITY_URGENT);
  EXPECT_EQ(fault.first_response->within, minutes(30));
  EXPECT_EQ(fault.resolution->within, hours(4));
  EXPECT_EQ(parsed->EscalatedTarget(v1::SUPPORT_TIER_L2).calendar,
            parsed->FindCalendar("berlin-office"));
  EXPECT_EQ(parsed->reopen(), ReopenRule::kRemaining);
  EXPECT_TRUE(parsed->roles().at("dashboard").may.empty());
  EXPECT_EQ(parsed->roles().at("support").credit_limit_per_30_days->amount_minor(), 10000);
}

TEST(PolicyTest, AnEmptyFileIsTheDefaults) {
  for (std::string_view text : {"", "\n", "# nothing yet\n", "---\n", "~\n", "sla:\nroles:\n"}) {
    auto p = Policy::Parse(text, "p.yaml");
    ASSERT_OK(p) << text;
    EXPECT_EQ(p->Summary(), Policy::Defaults().Summary()) << text;
    EXPECT_EQ(p->source(), text);
  }
}

// ---- Semantics of overrides ----

TEST(PolicyTest, APairWithOnlyAFirstResponseKeepsTheDefaultResolution) {
  auto p = Policy::Parse(R"(sla:
  tickets:
    - {category: fault, priority: urgent, first_response: {within: 30m}}
)",
                         "p.yaml");
  ASSERT_OK(p);
  const TicketTargets& t = p->TicketTarget(v1::TICKET_CATEGORY_FAULT, v1::TICKET_PRIORITY_URGENT);
  ASSERT_TRUE(t.first_response);
  EXPECT_EQ(t.first_response->within, minutes(30));
  EXPECT_EQ(t.resolution->within, hours(4));
}

TEST(PolicyTest, ARoleInTheFileReplacesItsDefaultEntirely) {
  auto p = Policy::Parse(R"(roles:
  support:
    may: ["SupportService/*"]
  billing:
    may: ["*"]
    credit_limit: unlimited
    credit_limit_per_30_days: {amount_minor: 100000, currency: EUR}
    approves_credits: true
  dashboard:
    may: []
)",
                         "p.yaml");
  ASSERT_OK(p);
  const RolePolicy& support = p->roles().at("support");
  EXPECT_THAT(support.may, ElementsAre("SupportService/*"));
  EXPECT_FALSE(support.credit_limit);  // the default 2000 EUR is gone too
  EXPECT_FALSE(support.unlimited_credit);
  const RolePolicy& billing = p->roles().at("billing");
  EXPECT_TRUE(billing.unlimited_credit);
  EXPECT_FALSE(billing.credit_limit);
  ASSERT_TRUE(billing.credit_limit_per_30_days);
  EXPECT_EQ(billing.credit_limit_per_30_days->amount_minor(), 100000);
  EXPECT_TRUE(billing.approves_credits);
  EXPECT_TRUE(p->roles().at("dashboard").may.empty());
  EXPECT_THAT(p->roles().at("sales").may, ElementsAre("SalesService/*", "JourneyService/*"));
  EXPECT_THAT(p->roles().at("admin").may, ElementsAre("*"));
}

TEST(PolicyTest, OtherSlaKeys) {
  auto p = Policy::Parse(R"(calendars:
  night:
    time_zone: UTC
    hours: {sat: ["22:00-24:00"], sun: ["00:00-06:00"]}
sla:
  fallback_resolution: {within: 1d12h}
  escalated:
    l2: {within: 1h30m, calendar: night}
    supervisor: {within: 45m}
  at_risk_at: 0.75
  reopen: remaining
)",
                         "p.yaml");
  ASSERT_OK(p);
  EXPECT_EQ(p->FallbackResolution().within, hours(36));
  EXPECT_EQ(p->EscalatedTarget(v1::SUPPORT_TIER_L1).within, hours(36));
  EXPECT_EQ(p->EscalatedTarget(v1::SUPPORT_TIER_L2).within, minutes(90));
  EXPECT_EQ(p->EscalatedTarget(v1::SUPPORT_TIER_L2).calendar, p->FindCalendar("night"));
  EXPECT_EQ(p->EscalatedTarget(v1::SUPPORT_TIER_SUPERVISOR).within, minutes(45));
  EXPECT_DOUBLE_EQ(p->AtRiskAt(), 0.75);
  EXPECT_EQ(p->reopen(), ReopenRule::kRemaining);
  // Listed pairs keep their own resolution; the fallback is for the rest.
  EXPECT_EQ(p->TicketTarget(v1::TICKET_CATEGORY_FAULT, v1::TICKET_PRIORITY_LOW).resolution->within,
            hours(72));
}

TEST(PolicyTest, TargetsPointIntoTheirOwnPolicyAfterMoveAndCopy) {
  auto parsed = Policy::Parse(kExample, "policy.yaml");
  ASSERT_OK(parsed);
  auto original = std::make_unique<Policy>(std::move(parsed).value());
  const Calendar* office = original->FindCalendar("berlin-office");
  const TimePoint opened = Berlin(2026_y / 6 / 5, hours(15));
  const std::string due = Utc(original->MissedCallCallback().Due(opened));

  Policy copy = *original;
  Policy moved = std::move(*original);
  original.reset();  // the moved-from object is gone
  for (const Policy* p : {&copy, &moved}) {
    const Calendar* c = p->FindCalendar("berlin-office");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(p->MissedCallCallback().calendar, c);
    const auto& t = p->TicketTarget(v1::TICKET_CATEGORY_COMPLAINT, v1::TICKET_PRIORITY_HIGH);
    EXPECT_EQ(t.resolution->calendar, c);
    EXPECT_EQ(Utc(p->MissedCallCallback().Due(opened)), due);
    EXPECT_EQ(c->time_zone(), "Europe/Berlin");
  }
  EXPECT_EQ(moved.FindCalendar("berlin-office"), office);  // moved, not rebuilt
  Policy assigned = Policy::Defaults();
  assigned = std::move(moved);
  EXPECT_EQ(Utc(assigned.MissedCallCallback().Due(opened)), due);
}

// ---- Hostile input ----

struct Hostile {
  const char* what;
  std::string yaml;
  std::vector<std::string> expected;  // substrings of the message
};

void PrintTo(const Hostile& h, std::ostream* os) { *os << h.what; }

class HostilePolicyTest : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostilePolicyTest, IsRefusedWithItsLineAndKey) {
  const std::string message = Refusal(GetParam().yaml);
  for (const std::string& e : GetParam().expected) {
    EXPECT_THAT(message, HasSubstr(e)) << GetParam().what;
  }
}

std::string Nested(int depth) {
  return "sla: " + std::string(depth, '[') + std::string(depth, ']') + "\n";
}

const Hostile kHostile[] = {
    // Unknown keys, at every level.
    {"top", "sla: {}\nslas: {}\n", {"p.yaml:2: slas: unknown key; known: calendars, sla, roles"}},
    {"ticket",
     "sla:\n  tickets:\n    - {category: fault, priority: low, resolution: {within: 1h}}\n"
     "    - category: fault\n      prority: high\n",
     {"p.yaml:5: sla.tickets[1].prority: unknown key; known: category, priority, "
      "first_response, resolution"}},
    {"sla",
     "sla:\n  at_risk: 0.5\n",
     {"p.yaml:2: sla.at_risk: unknown key; known: tickets, fallback_resolution, escalated, "
      "missed_call_callback, at_risk_at, reopen"}},
    {"calendar",
     "calendars:\n  c:\n    timezone: UTC\n",
     {"p.yaml:3: calendars.c.timezone: unknown key; known: time_zone, hours, holidays"}},
    {"weekday",
     "calendars:\n  c:\n    time_zone: UTC\n    hours:\n      monday: []\n",
     {"p.yaml:5: calendars.c.hours.monday: unknown key; known: mon, tue, wed, thu, fri, sat, sun"}},
    {"target",
     "sla:\n  missed_call_callback: {within: 2h, calender: x}\n",
     {"p.yaml:2: sla.missed_call_callback.calender: unknown key; known: within, calendar"}},
    {"role",
     "roles:\n  support:\n    may: []\n    credit: 5\n",
     {"p.yaml:4: roles.support.credit: unknown key; known: may, credit_limit, "
      "credit_limit_per_30_days, approves_credits"}},
    {"money",
     "roles:\n  billing:\n    may: []\n    credit_limit: {amount: 5, currency: EUR}\n",
     {"p.yaml:4: roles.billing.credit_limit.amount: unknown key; known: amount_minor, currency"}},
    {"tier",
     "sla:\n  escalated:\n    l3: {within: 1h}\n",
     {"p.yaml:3: sla.escalated.l3: unknown key; known: l1, l2, supervisor"}},
    // Wrong types.
    {"root scalar", "hello\n", {"p.yaml:1: expected a map with the sections", "got 'hello'"}},
    {"root list", "- sla\n", {"p.yaml:1: expected a map", "got a list"}},
    {"sla list", "sla: [1, 2]\n", {"p.yaml:1: sla: expected a map", "got a list"}},
    {"tickets map",
     "sla:\n  tickets: {category: fault}\n",
     {"p.yaml:2: sla.tickets: expected a list of ticket targets; got a map"}},
    {"at_risk list",
     "sla:\n  at_risk_at: [0.8]\n",
     {"p.yaml:2: sla.at_risk_at: expected a fraction such as 0.8; got a list"}},
    {"may scalar",
     "roles:\n  sales:\n    may: \"SalesService/*\"\n",
     {"p.yaml:3: roles.sales.may: expected a list of methods", "got 'SalesService/*'"}},
    {"period scalar list",
     "calendars:\n  c:\n    time_zone: UTC\n    hours: {mon: \"08:00-12:00\"}\n",
     {"p.yaml:4: calendars.c.hours.mon: expected a list of periods"}},
    {"within map",
     "sla:\n  missed_call_callback: {within: {h: 2}}\n",
     {"p.yaml:2: sla.missed_call_callback.within: expected a duration such as 4h; got a map"}},
    {"target scalar",
     "sla:\n  missed_call_callback: 2h\n",
     {"p.yaml:2: sla.missed_call_callback: expected a target such as {within: 4h", "got '2h'"}},
    {"bool",
     "roles:\n  supervisor:\n    may: []\n    approves_credits: yes\n",
     {"p.yaml:4: roles.supervisor.approves_credits: expected true or false; got 'yes'"}},
    {"key map", "sla:\n  {a: 1}: 2\n", {"p.yaml:2: sla: a key must be a plain name; got a map"}},
    {"reopen",
     "sla:\n  reopen: sometimes\n",
     {"p.yaml:2: sla.reopen: 'sometimes' is not a rule; use full_target or remaining"}},
    // Durations.
    {"negative",
     "sla:\n  missed_call_callback: {within: -4h}\n",
     {"p.yaml:2: sla.missed_call_callback.within: '-4h' is negative"}},
    {"zero",
     "sla:\n  fallback_resolution: {within: 0h}\n",
     {"p.yaml:2: sla.fallback_resolution.within: '0h' is zero"}},
    {"zero combined", "sla:\n  fallback_resolution: {within: 0d0h0m}\n", {"p.yaml:2:", "is zero"}},
    {"words",
     "sla:\n  fallback_resolution: {within: 4 hours}\n",
     {"p.yaml:2: sla.fallback_resolution.within: '4 hours' is not a duration; write minutes, "
      "hours or days such as 30m, 4h, 3d or 1h30m"}},
    {"bare number",
     "sla:\n  fallback_resolution: {within: 4}\n",
     {"p.yaml:2: sla.fallback_resolution.within: '4' is not a duration", "needs its unit"}},
    {"units out of order",
     "sla:\n  fallback_resolution: {within: 30m1h}\n",
     {"p.yaml:2: sla.fallback_resolution.within: '30m1h' is not a duration"}},
    {"seconds",
     "sla:\n  fallback_resolution: {within: 90s}\n",
     {"p.yaml:2:", "'90s' is not a duration"}},
    {"too long",
     "sla:\n  fallback_resolution: {within: 366d}\n",
     {"p.yaml:2: sla.fallback_resolution.within: '366d' is more than 365 days"}},
    {"huge",
     "sla:\n  fallback_resolution: {within: 99999999999999999999h}\n",
     {"p.yaml:2: sla.fallback_resolution.within:", "is not a duration"}},
    {"no within",
     "sla:\n  missed_call_callback: {calendar: x}\n",
     {"p.yaml:2: sla.missed_call_callback: within is required"}},
    // Calendars.
    {"time zone",
     "calendars:\n  c:\n    time_zone: Mars/Base\n    hours: {mon: [\"08:00-12:00\"]}\n",
     {"p.yaml:3: calendars.c.time_zone: 'Mars/Base' is not a time zone of the tz database"}},
    {"time zone path",
     "calendars:\n  c:\n    time_zone: ../../../etc/passwd\n",
     {"p.yaml:3: calendars.c.time_zone: '../../../etc/passwd' is not a time zone"}},
    {"no time zone",
     "calendars:\n  c:\n    hours: {mon: [\"08:00-12:00\"]}\n",
     {"p.yaml:3: calendars.c: time_zone is required"}},
    {"overlap",
     "calendars:\n  c:\n    time_zone: UTC\n    hours:\n      mon: [\"08:00-12:00\", "
     "\"11:00-13:00\"]\n",
     {"p.yaml:5: calendars.c.hours.mon[1]: 11:00-13:00 overlaps 08:00-12:00"}},
    {"out of order",
     "calendars:\n  c:\n    time_zone: UTC\n    hours:\n      tue:\n        - \"13:00-18:00\"\n"
     "        - \"08:00-12:00\"\n",
     {"p.yaml:7: calendars.c.hours.tue[1]: 08:00-12:00 comes before 13:00-18:00"}},
    {"backwards",
     "calendars:\n  c:\n    time_zone: UTC\n    hours: {mon: [\"18:00-08:00\"]}\n",
     {"p.yaml:4: calendars.c.hours.mon[0]: '18:00-08:00': the start must be before the end"}},
    {"past midnight",
     "calendars:\n  c:\n    time_zone: UTC\n    hours: {mon: [\"08:00-24:30\"]}\n",
     {"p.yaml:4: calendars.c.hours.mon[0]: '08:00-24:30' is not a period"}},
    {"garbage period",
     "calendars:\n  c:\n    time_zone: UTC\n    hours: {mon: [\"8-12\"]}\n",
     {"p.yaml:4: calendars.c.hours.mon[0]: '8-12' is not a period; write HH:MM-HH:MM"}},
    {"closed all week",
     "calendars:\n  c:\n    time_zone: UTC\n    hours: {mon: [], sat: []}\n",
     {"p.yaml:4: calendars.c.hours: no open hours in the week"}},
    {"no hours",
     "calendars:\n  c:\n    time_zone: UTC\n",
     {"p.yaml:3: calendars.c: no open hours in the week"}},
    {"holiday",
     "calendars:\n  c:\n    time_zone: UTC\n    hours: {mon: [\"08:00-12:00\"]}\n"
     "    holidays: [\"2026-12-24\", \"2026-02-30\"]\n",
     {"p.yaml:5: calendars.c.holidays[1]: '2026-02-30' is not a date; write YYYY-MM-DD"}},
    {"holiday format",
     "calendars:\n  c:\n    time_zone: UTC\n    hours: {mon: [\"08:00-12:00\"]}\n"
     "    holidays:\n      - 24.12.2026\n",
     {"p.yaml:6: calendars.c.holidays[0]: '24.12.2026' is not a date"}},
    {"calendar name",
     "calendars:\n  \"a b\":\n    time_zone: UTC\n",
     {"p.yaml:2: calendars.a b: not a calendar name"}},
    {"unknown calendar",
     "calendars:\n  office:\n    time_zone: UTC\n    hours: {mon: [\"08:00-12:00\"]}\n"
     "sla:\n  missed_call_callback: {within: 2h, calendar: ofice}\n",
     {"p.yaml:6: sla.missed_call_callback.calendar: unknown calendar 'ofice'; calendars: office"}},
    {"no calendars",
     "sla:\n  escalated: {l2: {within: 2h, calendar: office}}\n",
     {"p.yaml:2: sla.escalated.l2.calendar: unknown calendar 'office'; the file defines no "
      "calendars"}},
    // Tickets.
    {"category",
     "sla:\n  tickets:\n    - {category: complain, priority: high, resolution: {within: 1h}}\n",
     {"p.yaml:3: sla.tickets[0].category: unknown category 'complain'; categories: complaint, "
      "fault, question, billing, cancellation"}},
    {"priority",
     "sla:\n  tickets:\n    - {category: fault, priority: hgh, resolution: {within: 1h}}\n",
     {"p.yaml:3: sla.tickets[0].priority: unknown priority 'hgh'; priorities: low, normal, high, "
      "urgent"}},
    {"upper case",
     "sla:\n  tickets:\n    - {category: FAULT, priority: high, resolution: {within: 1h}}\n",
     {"p.yaml:3: sla.tickets[0].category: unknown category 'FAULT'"}},
    {"pair twice",
     "sla:\n  tickets:\n    - {category: fault, priority: high, resolution: {within: 1h}}\n"
     "    - {category: fault, priority: high, first_response: {within: 1h}}\n",
     {"p.yaml:4: sla.tickets[1]: fault/high is already given at sla.tickets[0] (line 3)"}},
    {"no targets",
     "sla:\n  tickets:\n    - {category: fault, priority: high}\n",
     {"p.yaml:3: sla.tickets[0]: give first_response, resolution or both"}},
    {"no priority",
     "sla:\n  tickets:\n    - {category: fault, resolution: {within: 1h}}\n",
     {"p.yaml:3: sla.tickets[0]: category and priority are required"}},
    // at_risk_at.
    {"one",
     "sla:\n  at_risk_at: 1\n",
     {"p.yaml:2: sla.at_risk_at: '1' is not a fraction between 0 and 1"}},
    {"zero fraction",
     "sla:\n  at_risk_at: 0.0\n",
     {"p.yaml:2: sla.at_risk_at: '0.0' is not a fraction"}},
    {"negative fraction", "sla:\n  at_risk_at: -0.5\n", {"p.yaml:2: sla.at_risk_at:"}},
    {"percent", "sla:\n  at_risk_at: 80%\n", {"p.yaml:2: sla.at_risk_at: '80%' is not a fraction"}},
    {"nan", "sla:\n  at_risk_at: nan\n", {"p.yaml:2: sla.at_risk_at: 'nan' is not a fraction"}},
    // Roles.
    {"unknown role",
     "roles:\n  superuser:\n    may: [\"*\"]\n",
     {"p.yaml:2: roles.superuser: unknown role; roles: sales, installation, support, billing, "
      "supervisor, dashboard, privacy"}},
    {"admin", "roles:\n  admin:\n    may: [\"*\"]\n", {"p.yaml:2: roles.admin: admin is fixed"}},
    {"service",
     "roles:\n  service:\n    may: [\"*\"]\n",
     {"p.yaml:2: roles.service: service is fixed"}},
    {"no may",
     "roles:\n  sales:\n    approves_credits: false\n",
     {"p.yaml:3: roles.sales: may is required"}},
    {"pattern service",
     "roles:\n  sales:\n    may: [\"Sales/*\"]\n",
     {"p.yaml:3: roles.sales.may[0]: 'Sales/*' is not a method pattern"}},
    {"pattern method",
     "roles:\n  sales:\n    may:\n      - SalesService/*\n      - SalesService/Log-Contact\n",
     {"p.yaml:5: roles.sales.may[1]: 'SalesService/Log-Contact' is not a method pattern"}},
    {"pattern empty",
     "roles:\n  sales:\n    may: [\"SalesService/\"]\n",
     {"p.yaml:3: roles.sales.may[0]:"}},
    {"pattern star star",
     "roles:\n  sales:\n    may: [\"*/*\"]\n",
     {"p.yaml:3: roles.sales.may[0]:"}},
    {"currency",
     "roles:\n  support:\n    may: []\n    credit_limit: {amount_minor: 5, currency: eur}\n",
     {"p.yaml:4: roles.support.credit_limit.currency: 'eur' is not an ISO 4217 currency code"}},
    {"negative amount",
     "roles:\n  support:\n    may: []\n    credit_limit:\n      amount_minor: -5\n      currency: "
     "EUR\n",
     {"p.yaml:5: roles.support.credit_limit.amount_minor: '-5' is not an amount"}},
    {"limit word",
     "roles:\n  support:\n    may: []\n    credit_limit: lots\n",
     {"p.yaml:4: roles.support.credit_limit: expected {amount_minor: 2000, currency: EUR} or "
      "unlimited; got 'lots'"}},
    {"no currency",
     "roles:\n  support:\n    may: []\n    credit_limit_per_30_days: {amount_minor: 5}\n",
     {"p.yaml:4: roles.support.credit_limit_per_30_days: amount_minor and currency are required"}},
    // Repeated keys.
    {"section twice",
     "sla: {}\nroles: {}\nsla: {}\n",
     {"p.yaml:3: sla: repeated key (first at line 1)"}},
    {"role twice",
     "roles:\n  sales: {may: []}\n  sales: {may: [\"*\"]}\n",
     {"p.yaml:3: roles.sales: repeated key (first at line 2)"}},
    {"within twice",
     "sla:\n  missed_call_callback: {within: 2h, within: 1h}\n",
     {"p.yaml:2: sla.missed_call_callback.within: repeated key"}},
    {"weekday twice",
     "calendars:\n  c:\n    time_zone: UTC\n    hours:\n      mon: [\"08:00-12:00\"]\n      mon: "
     "[]\n",
     {"p.yaml:6: calendars.c.hours.mon: repeated key (first at line 5)"}},
    // YAML features a policy file does not use.
    {"anchor and alias",
     "sla:\n  escalated:\n    l2: &t {within: 2h}\n    supervisor: *t\n",
     {"p.yaml:3: sla.escalated.l2: anchors and aliases (&name, *name) are not allowed"}},
    {"anchor alone",
     "sla:\n  at_risk_at: &x 0.5\n",
     {"p.yaml:2: sla.at_risk_at: anchors and aliases"}},
    {"merge key",
     "roles:\n  sales: {may: []}\n  support:\n    <<: *base\n",
     {"p.yaml:4: roles.support.<<: not valid YAML"}},
    {"tag",
     "sla:\n  at_risk_at: !!float 0.5\n",
     {"p.yaml:2: sla.at_risk_at: tags (!!str, !name) are not used"}},
    {"two documents",
     "sla: {}\n---\nroles: {}\n",
     {"p.yaml:2: a policy file is one YAML document"}},
    {"syntax", "sla:\n  tickets: [\n", {"p.yaml:3: sla.tickets[0]: not valid YAML"}},
    {"tab", "sla:\n\tat_risk_at: 0.5\n", {"p.yaml:2: not valid YAML"}},
    {"deep", Nested(40), {"p.yaml:1: sla[0][0]", "[0]: nested deeper than 32 levels"}},
    {"very deep", Nested(100000), {"p.yaml:1: sla[0]", ": nested deeper than 32 levels"}},
};

INSTANTIATE_TEST_SUITE_P(All, HostilePolicyTest, ::testing::ValuesIn(kHostile),
                         [](const ::testing::TestParamInfo<Hostile>& info) {
                           std::string name = info.param.what;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(PolicyTest, DeepButAllowedNestingIsOnlyATypeError) {
  // 32 levels are read; the value is then just the wrong type.
  EXPECT_THAT(Refusal(Nested(31)), HasSubstr("p.yaml:1: sla: expected a map"));
}

TEST(PolicyTest, TooManyValuesAreRefused) {
  std::string yaml = "sla:\n  tickets: [";
  for (int i = 0; i < 60000; ++i) yaml += "1,";
  yaml += "1]\n";
  EXPECT_THAT(Refusal(yaml), HasSubstr("p.yaml:2: sla.tickets[49995]: more than 50000 values"));
}

TEST(PolicyTest, AnAliasBombIsRefusedQuicklyAtItsFirstAnchor) {
  // Nine levels of nine aliases: 9^9 (387 million) strings if expanded.
  std::string yaml =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    const char prev = static_cast<char>(c - 1);
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) yaml += std::string(i ? "," : "") + "*" + prev;
    yaml += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string message = Refusal(yaml);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(message,
              HasSubstr("p.yaml:1: a: anchors and aliases (&name, *name) are not allowed"));
  EXPECT_LT(took, std::chrono::seconds(1));
}

TEST(PolicyTest, TextOverOneMebibyteIsRefusedBeforeParsing) {
  // Valid YAML (a comment) of 10 MB: refused for its size alone.
  const std::string yaml = "#" + std::string(10 * 1000 * 1000 - 2, 'x') + "\n";
  EXPECT_EQ(Refusal(yaml),
            "p.yaml: 10000000 bytes is more than the limit of 1048576 bytes (1 MiB) for a policy "
            "file");
  EXPECT_OK(Policy::Parse("#" + std::string(kMaxPolicyBytes - 2, 'x') + "\n", "p.yaml"));
}

TEST(PolicyTest, LoadReadsAFileAndRefusesALargeOneBeforeReadingIt) {
  testing::TempDir dir;
  const auto good = dir.path() / "policy.yaml";
  std::ofstream(good) << kExample;
  auto loaded = Policy::Load(good);
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->source(), kExample);
  EXPECT_NE(loaded->FindCalendar("berlin-office"), nullptr);

  const auto big = dir.path() / "big.yaml";
  std::ofstream(big) << "#" << std::string(10 * 1000 * 1000, 'x') << "\n";
  auto refused = Policy::Load(big);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(refused.status()),
            big.string() +
                ": 10000002 bytes is more than the limit of 1048576 bytes (1 MiB) for a policy "
                "file");

  // 64 GiB, sparse: refused by its size, not read (reading would take
  // minutes and the memory of the machine).
  const auto huge = dir.path() / "huge.yaml";
  std::ofstream(huge).put('#');
  std::filesystem::resize_file(huge, uintmax_t{64} << 30);
  const auto start = std::chrono::steady_clock::now();
  auto huge_refused = Policy::Load(huge);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ASSERT_FALSE(huge_refused.ok());
  EXPECT_THAT(Message(huge_refused.status()), HasSubstr(": 68719476736 bytes is more than"));

  const auto bad = dir.path() / "bad.yaml";
  std::ofstream(bad) << "sla:\n  at_risk_at: 2\n";
  auto bad_refused = Policy::Load(bad);
  ASSERT_FALSE(bad_refused.ok());
  EXPECT_EQ(Message(bad_refused.status()),
            bad.string() +
                ":2: sla.at_risk_at: '2' is not a fraction between 0 and 1 (both excluded); "
                "write one such as 0.8");

  auto missing = Policy::Load(dir.path() / "none.yaml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  auto directory = Policy::Load(dir.path());
  EXPECT_THAT(Message(directory.status()), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace threadline::policy
