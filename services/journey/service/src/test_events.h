#pragma once

// Test-only: the bus and the events the journey's store tests share.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "threadline/bus/embedded.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/projector.h"
#include "threadline/testing/testing.h"

namespace threadline::journey::journey_testing {

inline const TimePoint kT0 = FromUnixMicros(1'760'000'000'000'000);
inline constexpr char kCustomer[] = "cus_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa";

// An embedded bus under `dir`/bus with every department topic, the privacy
// topic, the journey topic and the dead-letter topic, `partitions` each.
inline std::unique_ptr<bus::Bus> OpenTestBus(const std::filesystem::path& dir, int32_t partitions) {
  bus::EmbeddedBusOptions bo;
  bo.path = (dir / "bus").string();
  auto b = bus::OpenEmbeddedBus(bo);
  EXPECT_OK(b);
  if (!b.ok()) return nullptr;
  std::vector<bus::TopicSpec> topics;
  for (const auto& t : domain::DepartmentTopics()) topics.push_back({t, partitions});
  topics.push_back({domain::kPrivacyTopic, partitions});
  topics.push_back({domain::kJourneyTopic, partitions});
  topics.push_back({domain::kDeadLetterTopic, partitions});
  EXPECT_OK((*b)->EnsureTopics(topics));
  return std::move(*b);
}

// An event of kCustomer `seconds` after kT0, with no payload yet.
inline v1::EventEnvelope Event(int seconds, const std::string& id,
                               v1::Department dept = v1::DEPARTMENT_SALES) {
  v1::EventEnvelope e;
  e.set_event_id(id);
  e.set_customer_id(kCustomer);
  e.set_department(dept);
  e.set_channel(v1::CHANNEL_PHONE);
  e.set_schema_version(1);
  *e.mutable_occurred_at() = domain::ToProto(kT0 + std::chrono::seconds(seconds));
  *e.mutable_recorded_at() = e.occurred_at();
  return e;
}

// kCustomer registered: Anna de Vries, +31612345678, anna@example.org.
inline v1::EventEnvelope Registered(int seconds, const std::string& id) {
  auto e = Event(seconds, id);
  auto* p = e.mutable_customer_registered();
  p->set_customer_id(kCustomer);
  p->set_name("Anna de Vries");
  p->add_phone_numbers("+31612345678");
  p->add_emails("anna@example.org");
  return e;
}

// A contact logged with `id` as its outcome.
inline v1::EventEnvelope Contact(int seconds, const std::string& id) {
  auto e = Event(seconds, id);
  e.mutable_contact_logged()->set_outcome(id);
  return e;
}

// The event ids on kCustomer's timeline, in timeline order (empty when the
// read fails).
inline std::vector<std::string> TimelineIds(Projector& p) {
  v1::GetTimelineRequest r;
  r.set_customer_id(kCustomer);
  r.set_page_size(500);
  auto t = p.GetTimeline(r);
  std::vector<std::string> ids;
  if (t.ok()) {
    for (const auto& e : t->entries()) ids.push_back(e.event_id());
  }
  return ids;
}

}  // namespace threadline::journey::journey_testing
