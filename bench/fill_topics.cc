// bench_fill: publishes a synthetic but realistic history of customer
// journeys to the four department topics, the input of the replay benchmark.
//
//   bench_fill --bus kafka:127.0.0.1:9092 --events 1000000 --customers 99000
//       --heavy-customers 10 --heavy-events 1000 --manifest DIR/manifest.txt
//
// Every customer registers at a random moment of one year and then goes
// through the story the departments tell about a broadband customer (order,
// work order, charges, appointment, installation, invoice, ticket, payment,
// missed call, product switch, ...), one event every few hours to weeks.
// "Heavy" customers live the same story in a loop until they have
// --heavy-events events: they are the customers whose timeline and card the
// read benchmark queries. Events are published in occurred_at order, as the
// departments would have published them live, each to its department's
// topic, keyed by customer_id, through the same ToMessage as the outbox
// relay. The manifest lists the message count per topic (for Kafka's
// ConsumerPerformance) and customer ids for the read benchmark.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>

#include "bench_common.h"
#include "threadline/common/clock.h"
#include "threadline/domain/topics.h"
#include "threadline/outbox/relay.h"
#include "threadline/privacy/sealer.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::bench {
namespace {

using google::protobuf::Timestamp;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void AppendHex(std::string& out, uint64_t v, int digits) {
  static const char* kHex = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 15]);
}

// An id shaped like NewId(prefix): prefix, '_', 32 hex digits, the first 12
// of them the creation time in ms (so ids sort by time, as UUIDv7 do), the
// rest derived from (a, b) so that the same inputs give the same id.
std::string Id(std::string_view prefix, int64_t at_us, uint64_t a, uint64_t b) {
  std::string out(prefix);
  out.push_back('_');
  AppendHex(out, static_cast<uint64_t>(at_us / 1000), 12);
  AppendHex(out, 0x7000 | (SplitMix(a) & 0xfff), 4);
  AppendHex(out, SplitMix(a ^ SplitMix(b)), 16);
  return out;
}

// A UUIDv7 in canonical text form for occurred_at `at_us`; `n` makes it unique.
std::string EventId(int64_t at_us, uint64_t n) {
  std::string hex;
  AppendHex(hex, static_cast<uint64_t>(at_us / 1000), 12);
  AppendHex(hex, 0x7000 | (n & 0xfff), 4);
  AppendHex(hex, (SplitMix(n) & 0x3fffffffffffffffULL) | 0x8000000000000000ULL, 16);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

Timestamp Ts(int64_t us) {
  Timestamp t;
  t.set_seconds(us / 1'000'000);
  t.set_nanos(static_cast<int32_t>((us % 1'000'000) * 1000));
  return t;
}

v1::Money Eur(int64_t cents) {
  v1::Money m;
  m.set_amount_minor(cents);
  m.set_currency("EUR");
  return m;
}

// The story, after CustomerRegistered; heavy customers loop over it.
enum Kind {
  kOrderPlaced,
  kWorkOrderCreated,
  kChargeScheduled,
  kAppointmentProposed,
  kContactLogged,
  kAppointmentConfirmed,
  kTechnicianAssigned,
  kInstallationCompleted,
  kChargeActivated,
  kInvoiceIssued,
  kTicketOpened,
  kInteractionAdded,
  kTicketResolved,
  kPaymentRecorded,
  kMissedCallRecorded,
  kProductSwitched,
  kStoryLength
};

constexpr int64_t kHourUs = 3600LL * 1'000'000;
constexpr int64_t kDayUs = 24 * kHourUs;
// 2025-01-01T00:00:00Z: the year the history covers starts here.
constexpr int64_t kYearStartUs = 1735689600LL * 1'000'000;

const char* const kSkus[] = {"BB-FIBER-500", "BB-FIBER-1000", "TV-BASIC",    "TV-PLUS",
                             "MOBILE-10GB",  "MOBILE-UNL",    "ROUTER-WIFI7"};

struct Customer {
  std::string id;
  std::string name;
  int64_t registered_us = 0;
  uint32_t events = 0;  // including CustomerRegistered
};

// One event to publish: which customer, which step of their story, when.
struct Planned {
  int64_t at_us;
  uint32_t customer;
  uint32_t step;
};

class Generator {
 public:
  explicit Generator(const std::vector<Customer>& customers) : customers_(customers) {}

  // The envelope of `p`; `n` is its publish number (unique).
  v1::EventEnvelope Make(const Planned& p, uint64_t n) {
    const Customer& c = customers_[p.customer];
    v1::EventEnvelope e;
    e.set_event_id(EventId(p.at_us, n));
    e.set_customer_id(c.id);
    *e.mutable_occurred_at() = Ts(p.at_us);
    // Recorded a little after it happened; field work is recorded late.
    *e.mutable_recorded_at() = Ts(p.at_us + 1500 + static_cast<int64_t>(n % 900));
    e.set_schema_version(1);
    e.set_correlation_id(Id("cor", p.at_us, n, 1));
    e.set_causation_id(Id("req", p.at_us, n, 2));
    auto* actor = e.mutable_actor();
    actor->set_principal("agent-" + std::to_string(n % 250));
    actor->set_role("agent");
    static const v1::Channel kChannels[] = {v1::CHANNEL_PHONE, v1::CHANNEL_WEB,   v1::CHANNEL_APP,
                                            v1::CHANNEL_SHOP,  v1::CHANNEL_EMAIL, v1::CHANNEL_CHAT};
    e.set_channel(kChannels[SplitMix(n) % 6]);
    const uint64_t cu = p.customer;
    if (p.step == 0) {
      Sales(e, c, "customer", c.id);
      auto* r = e.mutable_customer_registered();
      r->set_customer_id(c.id);
      r->set_name(c.name);
      r->add_phone_numbers(Phone(cu));
      r->add_emails("customer" + std::to_string(cu) + "@example.net");
      auto* a = r->mutable_address();
      a->set_line1(std::to_string(1 + cu % 200) + " Canal Street");
      a->set_postal_code(std::to_string(1000 + cu % 9000) + " AB");
      a->set_city("Amsterdam");
      a->set_country("NL");
      r->set_preferred_channel(v1::CHANNEL_SMS);
      return e;
    }
    const uint32_t cycle = (p.step - 1) / kStoryLength;
    const auto kind = static_cast<Kind>((p.step - 1) % kStoryLength);
    const int64_t t0 = c.registered_us;
    const std::string order = Id("ord", t0, cu, cycle * 16 + 1);
    const std::string item1 = Id("itm", t0, cu, cycle * 16 + 2);
    const std::string item2 = Id("itm", t0, cu, cycle * 16 + 3);
    const std::string commitment = Id("cmt", t0, cu, cycle * 16 + 4);
    const std::string work_order = Id("wo", t0, cu, cycle * 16 + 5);
    const std::string appointment = Id("apt", t0, cu, cycle * 16 + 6);
    const std::string charge = Id("chg", t0, cu, cycle * 16 + 7);
    const std::string invoice = Id("inv", t0, cu, cycle * 16 + 8);
    const std::string ticket = Id("tkt", t0, cu, cycle * 16 + 9);
    const std::string callback = Id("cb", t0, cu, cycle * 16 + 10);
    const char* sku = kSkus[(cu + cycle) % 7];
    const char* next_sku = kSkus[(cu + cycle + 1) % 7];
    switch (kind) {
      case kOrderPlaced: {
        Sales(e, c, "customer", c.id);
        auto* o = e.mutable_order_placed();
        o->set_order_id(order);
        auto* i1 = o->add_items();
        i1->set_item_id(item1);
        i1->set_sku(sku);
        i1->set_description("Fibre broadband, installed at home");
        *i1->mutable_one_off_price() = Eur(4900);
        *i1->mutable_monthly_price() = Eur(4500);
        i1->set_needs_installation(true);
        auto* i2 = o->add_items();
        i2->set_item_id(item2);
        i2->set_sku("ROUTER-WIFI7");
        i2->set_description("Wi-Fi 7 router, set up by the technician");
        *i2->mutable_monthly_price() = Eur(500);
        i2->set_needs_installation(true);
        *o->mutable_requested_installation()->mutable_start() = Ts(p.at_us + 7 * kDayUs);
        *o->mutable_requested_installation()->mutable_end() = Ts(p.at_us + 10 * kDayUs);
        auto* k = o->add_commitments();
        k->set_commitment_id(commitment);
        k->set_text("full installation including broadband set-up");
        k->set_owner(v1::DEPARTMENT_INSTALLATION);
        *k->mutable_due_by() = Ts(p.at_us + 14 * kDayUs);
        break;
      }
      case kWorkOrderCreated: {
        Installation(e, work_order);
        auto* w = e.mutable_work_order_created();
        w->set_work_order_id(work_order);
        w->set_order_id(order);
        for (const auto& [item, s] : {std::pair{item1, sku}, std::pair{item2, "ROUTER-WIFI7"}}) {
          auto* line = w->add_scope();
          line->set_item_id(item);
          line->set_sku(s);
          line->set_description("deliver and set up " + std::string(s));
        }
        auto* k = w->add_commitments();
        k->set_commitment_id(commitment);
        k->set_text("full installation including broadband set-up");
        k->set_owner(v1::DEPARTMENT_INSTALLATION);
        *k->mutable_due_by() = Ts(p.at_us + 14 * kDayUs);
        *w->mutable_requested_window()->mutable_start() = Ts(p.at_us + 7 * kDayUs);
        *w->mutable_requested_window()->mutable_end() = Ts(p.at_us + 10 * kDayUs);
        break;
      }
      case kChargeScheduled: {
        Billing(e, c);
        auto* ch = e.mutable_charge_scheduled();
        ch->set_charge_id(charge);
        ch->set_order_id(order);
        ch->set_item_id(item1);
        ch->set_sku(sku);
        ch->set_description("Fibre broadband");
        *ch->mutable_one_off() = Eur(4900);
        *ch->mutable_monthly() = Eur(4500);
        ch->set_status(v1::CHARGE_STATUS_HELD);
        ch->set_hold_reason("waiting for installation");
        break;
      }
      case kAppointmentProposed: {
        Installation(e, work_order);
        auto* a = e.mutable_appointment_proposed();
        a->set_work_order_id(work_order);
        a->set_appointment_id(appointment);
        *a->mutable_slot()->mutable_start() = Ts(p.at_us + 5 * kDayUs);
        *a->mutable_slot()->mutable_end() = Ts(p.at_us + 5 * kDayUs + 4 * kHourUs);
        a->set_asked_via(v1::CHANNEL_SMS);
        break;
      }
      case kContactLogged: {
        Sales(e, c, "customer", c.id);
        auto* l = e.mutable_contact_logged();
        l->set_direction(v1::CONTACT_DIRECTION_INBOUND);
        l->set_contact_channel(v1::CHANNEL_PHONE);
        l->set_outcome("asked when the technician comes");
        l->set_note("customer stresses that an early date matters");
        break;
      }
      case kAppointmentConfirmed: {
        Installation(e, work_order);
        auto* a = e.mutable_appointment_confirmed();
        a->set_work_order_id(work_order);
        a->set_appointment_id(appointment);
        a->set_answered_via(v1::CHANNEL_SMS);
        break;
      }
      case kTechnicianAssigned: {
        Installation(e, work_order);
        auto* t = e.mutable_technician_assigned();
        t->set_work_order_id(work_order);
        t->set_technician_id("tech-" + std::to_string(cu % 120));
        t->set_technician_name("Technician " + std::to_string(cu % 120));
        break;
      }
      case kInstallationCompleted: {
        Installation(e, work_order);
        e.set_channel(v1::CHANNEL_FIELD);
        auto* d = e.mutable_installation_completed();
        d->set_work_order_id(work_order);
        d->set_order_id(order);
        auto* di = d->add_delivered();
        di->set_item_id(item1);
        di->set_note("line connected, speed test 940 Mbit/s");
        auto* ri = d->add_delivered();
        ri->set_item_id(item2);
        ri->set_note("router set up, Wi-Fi on every floor");
        auto* k = d->add_commitments();
        k->set_commitment_id(commitment);
        k->set_kept(true);
        d->set_outcome(v1::COMPLETION_OUTCOME_FULL);
        break;
      }
      case kChargeActivated: {
        Billing(e, c);
        auto* a = e.mutable_charge_activated();
        a->set_charge_id(charge);
        a->set_item_id(item1);
        break;
      }
      case kInvoiceIssued: {
        Billing(e, c);
        auto* inv = e.mutable_invoice_issued();
        inv->set_invoice_id(invoice);
        *inv->mutable_period()->mutable_start() = Ts(p.at_us - 30 * kDayUs);
        *inv->mutable_period()->mutable_end() = Ts(p.at_us);
        auto* l1 = inv->add_lines();
        l1->set_charge_id(charge);
        l1->set_description("Fibre broadband, installation");
        *l1->mutable_amount() = Eur(4900);
        l1->set_kind(v1::CHARGE_KIND_ONE_OFF);
        auto* l2 = inv->add_lines();
        l2->set_charge_id(charge);
        l2->set_description("Fibre broadband, monthly");
        *l2->mutable_amount() = Eur(4500);
        l2->set_kind(v1::CHARGE_KIND_MONTHLY);
        *inv->mutable_total() = Eur(9400);
        break;
      }
      case kTicketOpened: {
        Support(e, ticket);
        auto* t = e.mutable_ticket_opened();
        t->set_ticket_id(ticket);
        t->set_category(cu % 3 == 0 ? v1::TICKET_CATEGORY_COMPLAINT : v1::TICKET_CATEGORY_FAULT);
        t->set_subject("connection drops every evening");
        t->set_description(
            "Since the installation the connection drops around 20:00 for a few minutes; "
            "the customer works from home and needs it fixed this week.");
        t->set_priority(v1::TICKET_PRIORITY_HIGH);
        t->set_tier(v1::SUPPORT_TIER_L1);
        *t->mutable_sla_due_at() = Ts(p.at_us + 2 * kDayUs);
        break;
      }
      case kInteractionAdded: {
        Support(e, ticket);
        auto* i = e.mutable_interaction_added();
        i->set_ticket_id(ticket);
        i->set_note("called back, line test shows noise on the fibre modem; reset remotely");
        i->set_from_customer(false);
        break;
      }
      case kTicketResolved: {
        Support(e, ticket);
        auto* r = e.mutable_ticket_resolved();
        r->set_ticket_id(ticket);
        r->set_resolution("modem firmware updated; no drops for three evenings");
        break;
      }
      case kPaymentRecorded: {
        Billing(e, c);
        auto* pay = e.mutable_payment_recorded();
        pay->set_payment_id(Id("pay", t0, cu, cycle * 16 + 11));
        *pay->mutable_amount() = Eur(9400);
        pay->set_invoice_id(invoice);
        pay->set_method("sepa_direct_debit");
        break;
      }
      case kMissedCallRecorded: {
        Support(e, callback);
        e.set_channel(v1::CHANNEL_PHONE);
        auto* m = e.mutable_missed_call_recorded();
        m->set_callback_id(callback);
        m->set_caller_number(Phone(cu));
        *m->mutable_called_at() = Ts(p.at_us);
        m->set_line("+31201234567");
        m->set_customer_id(c.id);
        *m->mutable_sla_due_at() = Ts(p.at_us + 4 * kHourUs);
        break;
      }
      case kProductSwitched: {
        Sales(e, c, "customer", c.id);
        auto* s = e.mutable_product_switched();
        s->set_from_sku(sku);
        s->set_to_sku(next_sku);
        *s->mutable_effective_at() = Ts(p.at_us + kDayUs);
        s->set_note("moved to the successor product");
        break;
      }
      case kStoryLength:
        break;
    }
    return e;
  }

 private:
  static std::string Phone(uint64_t customer) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "+316%08llu", static_cast<unsigned long long>(customer));
    return buf;
  }
  static void Sales(v1::EventEnvelope& e, const Customer& c, const char* type,
                    const std::string& id) {
    e.set_department(v1::DEPARTMENT_SALES);
    e.set_aggregate_type(type);
    e.set_aggregate_id(id);
  }
  static void Installation(v1::EventEnvelope& e, const std::string& work_order) {
    e.set_department(v1::DEPARTMENT_INSTALLATION);
    e.set_aggregate_type("work_order");
    e.set_aggregate_id(work_order);
  }
  static void Billing(v1::EventEnvelope& e, const Customer& c) {
    e.set_department(v1::DEPARTMENT_BILLING);
    e.set_aggregate_type("account");
    e.set_aggregate_id(c.id);
  }
  static void Support(v1::EventEnvelope& e, const std::string& id) {
    e.set_department(v1::DEPARTMENT_SUPPORT);
    e.set_aggregate_type(id.starts_with("cb_") ? "callback" : "ticket");
    e.set_aggregate_id(id);
  }

  const std::vector<Customer>& customers_;
};

int Run(int argc, char** argv) {
  CLI::App app{"bench_fill: publish a realistic journey history to the department topics"};
  std::string bus_spec;
  uint64_t events = 1'000'000;
  uint32_t customers = 100'000;
  uint32_t heavy = 10;
  uint32_t heavy_events = 1000;
  int partitions = 6;
  uint64_t seed = 42;
  std::string manifest;
  std::string vault_dir;
  app.add_option("--bus", bus_spec, "kafka:HOST:PORT or embedded:DIR")->required();
  app.add_option("--vault", vault_dir,
                 "seal personal fields with customers' keys from a key vault in this directory, "
                 "as the departments publish them");
  app.add_option("--events", events, "events in total")->capture_default_str();
  app.add_option("--customers", customers, "ordinary customers")->capture_default_str();
  app.add_option("--heavy-customers", heavy, "customers with --heavy-events each")
      ->capture_default_str();
  app.add_option("--heavy-events", heavy_events, "events of each heavy customer")
      ->capture_default_str();
  app.add_option("--partitions", partitions, "partitions per topic when creating them")
      ->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--manifest", manifest, "file to write topic counts and customer ids to")
      ->required();
  CLI11_PARSE(app, argc, argv);
  const uint64_t heavy_total = static_cast<uint64_t>(heavy) * heavy_events;
  if (customers == 0 || events < heavy_total + 2ULL * customers) {
    std::cerr << "bench_fill: --events must leave at least 2 events per ordinary customer\n";
    return 2;
  }

  // Plan: who does what when.
  std::mt19937_64 rng(seed);
  std::vector<Customer> people(customers + heavy);
  std::vector<Planned> plan;
  plan.reserve(events);
  const uint64_t ordinary_total = events - heavy_total;
  const uint64_t base = ordinary_total / customers;
  uint64_t extra = ordinary_total % customers;
  std::uniform_int_distribution<int64_t> register_at(kYearStartUs, kYearStartUs + 300 * kDayUs);
  // Gaps between events: mostly hours to days, sometimes weeks.
  std::exponential_distribution<double> gap_days(1.0 / 3.0);
  for (uint32_t i = 0; i < customers + heavy; ++i) {
    Customer& c = people[i];
    const bool is_heavy = i >= customers;
    c.registered_us =
        is_heavy ? kYearStartUs + static_cast<int64_t>(i - customers) * kHourUs : register_at(rng);
    c.id = Id("cus", c.registered_us, i, seed);
    c.name = (is_heavy ? "Heavy Customer " : "Customer ") + std::to_string(i);
    if (is_heavy) {
      c.events = heavy_events;
    } else {
      // Vary the story length around the mean, in pairs so the total is exact.
      c.events = static_cast<uint32_t>(base + (extra > 0 ? 1 : 0));
      if (extra > 0) --extra;
    }
  }
  for (uint32_t i = 0; i + 1 < customers; i += 2) {
    uint32_t swing = static_cast<uint32_t>(rng() % 5);  // 0..4
    swing = std::min(swing, people[i + 1].events - 2);
    people[i].events += swing;
    people[i + 1].events -= swing;
  }
  for (uint32_t i = 0; i < customers + heavy; ++i) {
    const Customer& c = people[i];
    int64_t at = c.registered_us;
    // Heavy customers: their events spread evenly over the year.
    const int64_t heavy_gap = 360 * kDayUs / std::max<uint32_t>(heavy_events, 1);
    for (uint32_t step = 0; step < c.events; ++step) {
      plan.push_back({at, i, step});
      if (i >= customers) {
        at += heavy_gap / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(heavy_gap));
      } else {
        at += kHourUs / 4 + static_cast<int64_t>(gap_days(rng) * kDayUs);
      }
    }
  }
  // Live publication order.
  std::sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) {
    return a.at_us != b.at_us ? a.at_us < b.at_us : a.customer < b.customer;
  });

  auto bus = OpenBus(bus_spec);
  if (!bus.ok()) {
    std::cerr << "bench_fill: " << bus.status() << "\n";
    return 1;
  }
  // As the suite makes them (it refuses record topics that delete); the
  // privacy topic too, since a projector with keys reads it.
  std::vector<bus::TopicSpec> topics;
  for (const auto& t : domain::RecordTopics()) {
    topics.push_back({t, partitions, domain::RecordTopicSettings()});
  }
  topics.push_back({domain::kJourneyTopic, partitions});
  if (auto s = (*bus)->EnsureTopics(topics); !s.ok()) {
    std::cerr << "bench_fill: " << s << "\n";
    return 1;
  }
  auto publisher = (*bus)->NewPublisher();
  if (!publisher.ok()) {
    std::cerr << "bench_fill: " << publisher.status() << "\n";
    return 1;
  }
  auto keys = OpenBenchKeys(vault_dir);
  if (!keys.ok()) {
    std::cerr << "bench_fill: " << keys.status() << "\n";
    return 1;
  }

  // Bounded in flight: the producer queue holds 100k messages by default.
  constexpr uint64_t kMaxInFlight = 50'000;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t in_flight = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> per_topic, bytes_per_topic;
  std::map<std::string, uint64_t> per_kind;
  Generator gen(people);
  const auto start = std::chrono::steady_clock::now();
  uint64_t value_bytes = 0;
  uint64_t sealed_events = 0;
  for (uint64_t n = 0; n < plan.size(); ++n) {
    v1::EventEnvelope e = gen.Make(plan[n], n);
    e.set_global_position(n + 1);
    if (keys->get() != nullptr) {
      auto key = keys->get()->Obtain(privacy::SubjectOf(e));
      if (!key.ok()) {
        std::cerr << "bench_fill: " << key.status() << "\n";
        return 1;
      }
      privacy::SealEvent(e, *key);
      if (privacy::HasSealed(e)) ++sealed_events;
    }
    const std::string topic = domain::DepartmentTopic(e.department());
    bus::OutMessage m = outbox::ToMessage(e, topic);
    value_bytes += m.value.size();
    ++per_topic[topic];
    bytes_per_topic[topic] += m.value.size();
    for (const auto& h : m.headers) {
      if (h.key == outbox::kHeaderEventType) ++per_kind[h.value];
    }
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < kMaxInFlight; });
      ++in_flight;
    }
    auto done = [&](const absl::Status& st, int32_t, int64_t) {
      std::lock_guard lock(mu);
      --in_flight;
      if (!st.ok()) ++failed;
      cv.notify_all();
    };
    while (true) {
      absl::Status s = (*publisher)->Publish(m, done);
      if (s.ok()) break;
      if (!absl::IsUnavailable(s)) {
        std::cerr << "bench_fill: " << s << "\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // queue full: let it drain
    }
  }
  if (auto s = (*publisher)->Flush(std::chrono::minutes(5)); !s.ok()) {
    std::cerr << "bench_fill: " << s << "\n";
    return 1;
  }
  const double secs = Seconds(std::chrono::steady_clock::now() - start);
  if (failed > 0) {
    std::cerr << "bench_fill: " << failed << " deliveries failed\n";
    return 1;
  }

  std::ofstream out(manifest);
  for (const auto& [topic, count] : per_topic) {
    out << "topic " << topic << " " << count << " " << bytes_per_topic[topic] << "\n";
  }
  for (uint32_t i = customers; i < customers + heavy; ++i) {
    out << "heavy " << people[i].id << " " << people[i].events << "\n";
  }
  // A sample of ordinary customers for cold reads.
  for (uint32_t i = 0; i < std::min<uint32_t>(customers, 2000); ++i) {
    out << "ordinary " << people[(SplitMix(i) % customers)].id << "\n";
  }
  out.close();
  if (!out) {
    std::cerr << "bench_fill: cannot write " << manifest << "\n";
    return 1;
  }
  Emit("fill_events", static_cast<uint64_t>(plan.size()));
  Emit("fill_sealed_events", sealed_events);
  Emit("fill_customers", static_cast<uint64_t>(customers + heavy));
  Emit("fill_seconds", secs);
  Emit("fill_events_per_second", static_cast<double>(plan.size()) / secs);
  Emit("fill_mean_value_bytes",
       static_cast<double>(value_bytes) / static_cast<double>(plan.size()));
  for (const auto& [topic, count] : per_topic) Emit("fill_topic_" + topic, count);
  for (const auto& [kind, count] : per_kind) Emit("fill_kind_" + kind, count);
  return 0;
}

}  // namespace
}  // namespace threadline::bench

int main(int argc, char** argv) { return threadline::bench::Run(argc, argv); }
