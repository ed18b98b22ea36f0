#include "render.h"

#include <google/protobuf/util/json_util.h>

#include <ctime>
#include <sstream>

#include "threadline/server/stats.h"

namespace threadline::ctl {
namespace {

std::string Short(const std::string& enum_name, const std::string& prefix) {
  std::string s = enum_name.rfind(prefix, 0) == 0 ? enum_name.substr(prefix.size()) : enum_name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const char* DepartmentColor(v1::Department d) {
  switch (d) {
    case v1::DEPARTMENT_SALES:
      return "34";  // blue
    case v1::DEPARTMENT_INSTALLATION:
      return "33";  // yellow
    case v1::DEPARTMENT_SUPPORT:
      return "35";  // magenta
    case v1::DEPARTMENT_BILLING:
      return "32";  // green
    default:
      return "37";
  }
}

std::string Pad(std::string s, size_t n) {
  if (s.size() < n) s.append(n - s.size(), ' ');
  return s;
}

std::string MoneyText(const v1::Money& m) {
  std::ostringstream o;
  int64_t a = m.amount_minor();
  o << (a < 0 ? "-" : "") << std::llabs(a) / 100 << "." << (std::llabs(a) % 100 < 10 ? "0" : "")
    << std::llabs(a) % 100 << " " << m.currency();
  return o.str();
}

}  // namespace

std::string FormatTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string StatusCodeName(grpc::StatusCode code) {
  return std::string(server::StatusCodeName(static_cast<int>(code)));
}

std::string Renderer::Paint(const std::string& text, const char* code) const {
  if (!color_) return text;
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

std::string Renderer::Line(const v1::TimelineEntry& e) const {
  std::string dept = Short(v1::Department_Name(e.department()), "DEPARTMENT_");
  std::string actor = e.actor().principal().empty() ? "-" : e.actor().principal();
  return Paint(FormatTime(e.occurred_at().seconds()), "2") + "  " +
         Paint(Pad(dept, 12), DepartmentColor(e.department())) + " " +
         Pad(Short(v1::Channel_Name(e.channel()), "CHANNEL_"), 7) + " " + Pad(actor, 14) + " " +
         e.summary() + "\n";
}

std::string Renderer::Timeline(const std::vector<v1::TimelineEntry>& entries) const {
  std::string out;
  for (const auto& e : entries) out += Line(e);
  if (entries.empty()) out = "no entries\n";
  return out;
}

std::string Renderer::Json(const google::protobuf::Message& m) const {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string Renderer::TimelineJson(const std::vector<v1::TimelineEntry>& entries) const {
  v1::GetTimelineResponse r;
  for (const auto& e : entries) *r.add_entries() = e;
  return Json(r);
}

std::string Renderer::Update(const v1::JourneyUpdate& u) const {
  return Paint(u.entry().customer_id(), "1") + "  " + Line(u.entry());
}

std::string Renderer::UpdateJson(const v1::JourneyUpdate& u) const {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(u, &out, o);
  return out + "\n";
}

std::string Renderer::Card(const v1::CustomerContext& c) const {
  std::ostringstream o;
  o << Paint(c.name(), "1") << "  " << c.customer_id() << "\n";
  for (const auto& p : c.phone_numbers()) o << "  phone  " << p << "\n";
  for (const auto& e : c.emails()) o << "  email  " << e << "\n";
  if (!c.guidance().empty()) {
    o << Paint("Before you speak:", "1;31") << "\n";
    for (const auto& g : c.guidance()) o << "  ! " << Paint(g.message(), "31") << "\n";
  }
  if (!c.products().empty()) {
    o << Paint("Products", "1") << "\n";
    for (const auto& p : c.products()) {
      o << "  " << p.sku() << "  " << p.description();
      if (!p.previous_skus().empty()) {
        o << "  (was";
        for (const auto& s : p.previous_skus()) o << " " << s;
        o << ")";
      }
      o << "\n";
    }
  }
  if (!c.commitments().empty()) {
    o << Paint("Commitments", "1") << "\n";
    for (const auto& m : c.commitments()) {
      std::string state = Short(v1::CommitmentState_Name(m.state()), "COMMITMENT_STATE_");
      const char* col = m.state() == v1::COMMITMENT_STATE_KEPT   ? "32"
                        : m.state() == v1::COMMITMENT_STATE_OPEN ? "37"
                                                                 : "31";
      o << "  " << Paint(Pad(state, 8), col) << " " << m.text() << "  (owner "
        << Short(v1::Department_Name(m.owner()), "DEPARTMENT_") << ", due "
        << FormatTime(m.due_by().seconds()) << ")";
      if (!m.reason().empty()) o << " — " << m.reason();
      o << "\n";
    }
  }
  if (c.has_next_appointment()) {
    const auto& a = c.next_appointment();
    o << Paint("Next appointment", "1") << "\n  " << FormatTime(a.slot().start().seconds())
      << (a.confirmed() ? "  confirmed by the customer" : Paint("  NOT confirmed", "31")) << "\n";
  }
  if (!c.open_tickets().empty()) {
    o << Paint("Open tickets", "1") << "\n";
    for (const auto& t : c.open_tickets()) {
      o << "  " << t.category() << " [" << t.tier() << "] " << t.subject() << "  SLA "
        << FormatTime(t.sla_due_at().seconds())
        << (t.sla_breached() ? Paint(" BREACHED", "31") : "")
        << (t.paused() ? "  waiting on the customer" : "")
        << (t.at_risk() && !t.sla_breached() ? Paint(" AT RISK", "33") : "") << "\n";
    }
  }
  if (!c.recent_resolved_tickets().empty()) {
    o << Paint("Recently resolved", "1") << "\n";
    for (const auto& t : c.recent_resolved_tickets()) {
      o << "  " << t.category() << " " << t.subject() << "  resolved "
        << FormatTime(t.resolved_at().seconds()) << ": " << t.resolution() << "\n";
    }
  }
  if (!c.open_callbacks().empty()) {
    o << Paint("Callbacks", "1") << "\n";
    for (const auto& cb : c.open_callbacks()) {
      o << "  " << cb.phone_number() << "  due " << FormatTime(cb.due_at().seconds())
        << (cb.overdue() ? Paint(" OVERDUE", "31") : "") << "\n";
    }
  }
  const auto& b = c.billing();
  if (b.has_balance() || !b.held_charges().empty() || !b.open_dispute_ids().empty()) {
    o << Paint("Billing", "1") << "\n";
    if (b.has_balance()) o << "  balance " << MoneyText(b.balance()) << "\n";
    for (const auto& h : b.held_charges()) {
      o << "  held: " << h.description();
      if (h.has_one_off()) o << " " << MoneyText(h.one_off()) << " once";
      if (h.has_monthly()) o << " " << MoneyText(h.monthly()) << "/month";
      o << " — " << h.reason() << "\n";
    }
    if (!b.open_dispute_ids().empty())
      o << "  open disputes: " << b.open_dispute_ids_size() << "\n";
    if (!b.pending_credit_ids().empty()) {
      o << "  credits awaiting approval: " << b.pending_credit_ids_size() << "\n";
    }
  }
  if (!c.last_contacts().empty()) {
    o << Paint("Last contact", "1") << "\n";
    for (const auto& l : c.last_contacts()) {
      o << "  " << Pad(Short(v1::Channel_Name(l.channel()), "CHANNEL_"), 7) << " "
        << FormatTime(l.at().seconds()) << "\n";
    }
  }
  return o.str();
}

}  // namespace threadline::ctl
