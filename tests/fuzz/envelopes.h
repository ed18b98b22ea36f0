#pragma once

// One plausible envelope per payload kind, filled through reflection, so a
// payload added to envelope.proto is covered without touching this file.
// Ids are derived from field names ("ticket_id" -> "tkt_...1"), so the
// envelopes of different kinds refer to the same ticket, order, charge...,
// as one customer's real events do. Used by make_corpus (the committed seed
// corpus), by the fuzzer (a card that has seen every kind) and by
// tests/fixtures/make_event_fixtures (the golden events' payloads).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "threadline/v1/envelope.pb.h"

namespace threadline::fuzz {

inline constexpr int64_t kBaseSeconds = 1'767'225'600;  // 2026-01-01T00:00:00Z
inline constexpr char kCustomer[] = "cus_0190a0b0c0d0e0f00000000000000001";

inline std::string IdFor(const std::string& field) {
  static const std::vector<std::pair<std::string, std::string>> prefixes = {
      {"customer_id", "cus"},   {"order_id", "ord"},       {"item_id", "itm"},
      {"work_order_id", "wo"},  {"appointment_id", "apt"}, {"ticket_id", "tkt"},
      {"callback_id", "cb"},    {"charge_id", "chg"},      {"invoice_id", "inv"},
      {"payment_id", "pay"},    {"credit_id", "cr"},       {"dispute_id", "dsp"},
      {"commitment_id", "cmt"}, {"export_id", "exp"}};
  if (field == "customer_id") return kCustomer;
  for (const auto& [name, prefix] : prefixes) {
    if (field == name) return prefix + "_0190a0b0c0d0e0f00000000000000001";
  }
  return "";
}

inline void Fill(google::protobuf::Message& m, int depth) {
  namespace pb = google::protobuf;
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  if (d->full_name() == "google.protobuf.Timestamp") {
    r->SetInt64(&m, d->FindFieldByName("seconds"), kBaseSeconds + 86400 * depth);
    return;
  }
  if (d->full_name() == "threadline.v1.Money") {
    r->SetInt64(&m, d->FindFieldByName("amount_minor"), 4900);
    r->SetString(&m, d->FindFieldByName("currency"), "EUR");
    return;
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    const int n = f->is_repeated() ? 2 : 1;
    for (int k = 0; k < n; ++k) {
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_STRING: {
          std::string v = IdFor(f->name());
          if (v.empty()) v = f->name() + " " + std::to_string(k + 1);
          if (f->name().find("phone") != std::string::npos || f->name() == "caller_number") {
            v = "+3161234567" + std::to_string(k);
          }
          if (f->name() == "emails") v = "anna" + std::to_string(k) + "@example.com";
          if (f->name() == "currency") v = "EUR";
          f->is_repeated() ? r->AddString(&m, f, v) : r->SetString(&m, f, v);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
          // The first real value after UNSPECIFIED.
          const auto* e = f->enum_type();
          const auto* v = e->value(e->value_count() > 1 ? 1 : 0);
          f->is_repeated() ? r->AddEnum(&m, f, v) : r->SetEnum(&m, f, v);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_BOOL:
          f->is_repeated() ? r->AddBool(&m, f, true) : r->SetBool(&m, f, true);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT64:
          f->is_repeated() ? r->AddInt64(&m, f, 4900) : r->SetInt64(&m, f, 4900);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT64:
          f->is_repeated() ? r->AddUInt64(&m, f, 1) : r->SetUInt64(&m, f, 1);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT32:
          f->is_repeated() ? r->AddInt32(&m, f, 1) : r->SetInt32(&m, f, 1);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          f->is_repeated() ? r->AddUInt32(&m, f, 1) : r->SetUInt32(&m, f, 1);
          break;
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 4) {
            Fill(f->is_repeated() ? *r->AddMessage(&m, f) : *r->MutableMessage(&m, f), depth + 1);
          }
          break;
        default:
          break;
      }
    }
  }
}

// An envelope of payload field `payload` (a field of the oneof).
inline v1::EventEnvelope EnvelopeOf(const google::protobuf::FieldDescriptor* payload, int n) {
  v1::EventEnvelope e;
  e.set_event_id("0190a0b0-c0d0-7e0f-8000-" + std::to_string(100000000000 + n));
  e.set_customer_id(kCustomer);
  e.set_aggregate_type("customer");
  e.set_aggregate_id(kCustomer);
  e.set_version(static_cast<uint64_t>(n) + 1);
  e.mutable_occurred_at()->set_seconds(kBaseSeconds + 60 * n);
  e.mutable_recorded_at()->set_seconds(kBaseSeconds + 60 * n + 1);
  e.set_department(static_cast<v1::Department>(1 + (payload->number() - 100) / 20 % 4));
  e.set_channel(v1::CHANNEL_PHONE);
  e.mutable_actor()->set_principal("anna");
  e.mutable_actor()->set_role("sales");
  e.set_correlation_id("req-" + std::to_string(n));
  e.set_causation_id("req-" + std::to_string(n));
  e.set_schema_version(1);
  e.set_global_position(static_cast<uint64_t>(n) + 1);
  Fill(*e.GetReflection()->MutableMessage(&e, payload), 0);
  return e;
}

// One envelope per payload kind, in field-number order.
inline std::vector<v1::EventEnvelope> OneOfEachKind() {
  std::vector<v1::EventEnvelope> out;
  const auto* oneof = v1::EventEnvelope::descriptor()->FindOneofByName("payload");
  for (int i = 0; i < oneof->field_count(); ++i) out.push_back(EnvelopeOf(oneof->field(i), i));
  return out;
}

// Envelopes at the edges of their types, which random mutation rarely
// builds: extreme amounts and timestamps a hostile producer could publish.
inline std::vector<std::pair<std::string, v1::EventEnvelope>> EdgeCases() {
  std::vector<std::pair<std::string, v1::EventEnvelope>> out;
  const auto* oneof = v1::EventEnvelope::descriptor()->FindOneofByName("payload");
  auto of = [&](const char* name) {
    for (int i = 0; i < oneof->field_count(); ++i) {
      if (oneof->field(i)->name() == name) return EnvelopeOf(oneof->field(i), i);
    }
    return v1::EventEnvelope();
  };
  for (int64_t amount : {INT64_MIN, INT64_MAX, int64_t{-1}}) {
    auto e = of("payment_recorded");
    e.mutable_payment_recorded()->mutable_amount()->set_amount_minor(amount);
    out.emplace_back("edge_payment_amount_" + std::to_string(amount), e);
    auto c = of("charge_scheduled");
    c.mutable_charge_scheduled()->mutable_monthly()->set_amount_minor(amount);
    out.emplace_back("edge_charge_monthly_" + std::to_string(amount), c);
  }
  for (int64_t seconds : {INT64_MIN, INT64_MAX, int64_t{-62135596800}, int64_t{253402300799}}) {
    auto e = of("ticket_opened");
    e.mutable_occurred_at()->set_seconds(seconds);
    e.mutable_ticket_opened()->mutable_sla_due_at()->set_seconds(seconds);
    out.emplace_back("edge_ticket_time_" + std::to_string(seconds), e);
    auto c = of("callback_scheduled");
    c.mutable_recorded_at()->set_seconds(seconds);
    c.mutable_callback_scheduled()->mutable_due_at()->set_seconds(seconds);
    out.emplace_back("edge_callback_time_" + std::to_string(seconds), c);
  }
  auto n = of("order_placed");
  n.mutable_occurred_at()->set_nanos(-1);
  n.mutable_order_placed()->mutable_commitments(0)->mutable_due_by()->set_nanos(2'000'000'000);
  out.emplace_back("edge_order_nanos", n);
  return out;
}

}  // namespace threadline::fuzz
