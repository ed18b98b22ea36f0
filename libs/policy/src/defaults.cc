#include "defaults.h"

namespace threadline::policy::internal {

// Every value of the shipped policy, once. The ticket targets, the
// escalation, callback and fallback targets are those the support service
// has always used; the credit limits those of billing; the roles' rights
// what the server granted before policy files, plus the front-line rights
// of support.
const std::string_view kShippedPolicy =
    R"yaml(# Threadline's shipped policy: what runs without a policy file, and what
# every key a policy file leaves out keeps. Every target here is wall-clock
# time: no calendars are defined.
calendars: {}
sla:
  # Time to resolve a ticket, per category and priority. No first-response
  # target is set by default.
  tickets:
    # An unanswered complaint loses customers.
    - {category: complaint, priority: urgent, resolution: {within: 4h}}
    - {category: complaint, priority: high, resolution: {within: 8h}}
    - {category: complaint, priority: normal, resolution: {within: 24h}}
    - {category: complaint, priority: low, resolution: {within: 48h}}
    - {category: fault, priority: urgent, resolution: {within: 4h}}
    - {category: fault, priority: high, resolution: {within: 8h}}
    - {category: fault, priority: normal, resolution: {within: 24h}}
    - {category: fault, priority: low, resolution: {within: 72h}}
    - {category: question, priority: urgent, resolution: {within: 8h}}
    - {category: question, priority: high, resolution: {within: 24h}}
    - {category: question, priority: normal, resolution: {within: 48h}}
    - {category: question, priority: low, resolution: {within: 72h}}
    - {category: billing, priority: urgent, resolution: {within: 8h}}
    - {category: billing, priority: high, resolution: {within: 24h}}
    - {category: billing, priority: normal, resolution: {within: 48h}}
    - {category: billing, priority: low, resolution: {within: 72h}}
    # The last chance to keep the customer.
    - {category: cancellation, priority: urgent, resolution: {within: 4h}}
    - {category: cancellation, priority: high, resolution: {within: 8h}}
    - {category: cancellation, priority: normal, resolution: {within: 24h}}
    - {category: cancellation, priority: low, resolution: {within: 24h}}
  # For a ticket of no listed category and priority, and a tier without a
  # target in `escalated`.
  fallback_resolution: {within: 72h}
  # Time for the new tier after an escalation; the due time only ever moves
  # earlier on escalation.
  escalated:
    l2: {within: 8h}
    supervisor: {within: 4h}
  # Calling back a missed call, from the time of the call: most callers who
  # reach nobody try a competitor the same day.
  missed_call_callback: {within: 2h}
  # A clock is at risk once this fraction of its target has passed.
  at_risk_at: 0.8
  # A reopened ticket gets its full resolution target again.
  reopen: full_target
roles:
  sales:
    may: ["SalesService/*", "JourneyService/*"]
  installation:
    may: ["InstallationService/*", "JourneyService/*"]
  support:
    may: ["SupportService/*", "BillingService/GrantCredit",
          "InstallationService/ProposeAppointment", "InstallationService/ConfirmAppointment",
          "InstallationService/DeclineAppointment", "SalesService/LogContact", "JourneyService/*"]
    # Front-line support settles a small complaint on the call.
    credit_limit: {amount_minor: 2000, currency: EUR}
  billing:
    may: ["BillingService/*", "JourneyService/*"]
    credit_limit: {amount_minor: 5000, currency: EUR}
  supervisor:
    may: ["SupportService/*", "BillingService/*", "JourneyService/*"]
    credit_limit: unlimited
    approves_credits: true
  dashboard:
    may: ["JourneyService/*"]
  privacy:
    may: ["JourneyService/*", "JourneyExportService/*", "PrivacyService/*"]
)yaml";

}  // namespace threadline::policy::internal
