// Poison events on a department topic against a real Kafka broker, with the
// journey projector as its own process (labels `kafka`, `security`): bytes
// that are no envelope, an envelope whose payload is a oneof field the
// projector does not know, and an envelope from a future schema version all
// land on threadline.deadletter.v1 with the reason in headers, and the
// projector keeps going: a normal event published after them is projected,
// and /metrics counts them. Kafka's own console consumer is the independent
// reader of the dead letters.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>

#include "security_support.h"
#include "threadline/bus/kafka.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::testing {
namespace {

// An envelope that the projector would accept.
v1::EventEnvelope Registered(const std::string& event_id, const std::string& customer) {
  v1::EventEnvelope e;
  e.set_event_id(event_id);
  e.set_customer_id(customer);
  e.set_aggregate_type("customer");
  e.set_aggregate_id(customer);
  e.set_version(1);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  e.mutable_occurred_at()->set_seconds(now);
  e.mutable_recorded_at()->set_seconds(now);
  e.set_department(v1::DEPARTMENT_SALES);
  e.set_channel(v1::CHANNEL_PHONE);
  e.set_schema_version(1);
  auto* p = e.mutable_customer_registered();
  p->set_customer_id(customer);
  p->set_name("Poison Survivor");
  p->add_phone_numbers("+31655512345");
  return e;
}

TEST(PoisonEvents, ReachTheDeadLetterTopicWithTheirReasonAndTheProjectorKeepsGoing) {
  TempDir dir;
  const std::string brokers = KafkaBootstrapForTests();
  ASSERT_FALSE(brokers.empty()) << "no Kafka broker; run through ctest -L kafka";
  // Keys unique to this run: the broker is shared by every kafka test and
  // may be reused by a repeated run.
  const std::string run =
      "poison-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  // The journey (with the key vault), in its own process; it creates the
  // topics. Other tests' journeys on the shared broker park the same
  // poison: this one's dead letters carry its instance name.
  const int metrics_port = FreePort();
  SuiteProcess journey(
      (dir.path() / "journey").string(),
      {"--target", "journey,privacy", "--kafka-brokers", brokers, "--metrics-listen",
       "127.0.0.1:" + std::to_string(metrics_port), "--instance", run},
      (dir.path() / "journey.log").string());

  const std::string customer = "cus_" + std::string(28, '0') + "beef";

  // 1: not protobuf at all (an invalid tag, then noise).
  const std::string not_an_envelope("\xff\xff\xff\xff\x0f garbage", 13);
  // 2: a well-formed envelope whose payload is oneof field 250, which no
  // version of envelope.proto defines: tag (250 << 3 | 2) = 2002 as a
  // varint, length 3, "abc". Protobuf keeps it as an unknown field.
  v1::EventEnvelope head = Registered(run + "-unknown", customer);
  head.clear_payload();
  std::string unknown_payload = head.SerializeAsString() + std::string(
                                                               "\xd2\x0f\x03"
                                                               "abc",
                                                               6);
  {
    v1::EventEnvelope check;
    ASSERT_TRUE(check.ParseFromString(unknown_payload));
    ASSERT_EQ(check.payload_case(), v1::EventEnvelope::PAYLOAD_NOT_SET);
    ASSERT_FALSE(check.GetReflection()->GetUnknownFields(check).empty());
  }
  // 3: an envelope from a schema this projector does not know yet.
  v1::EventEnvelope future = Registered(run + "-future", customer);
  future.set_schema_version(2);
  // 4: a normal event, after the poison, on the same partition (same key).
  v1::EventEnvelope normal = Registered(run + "-normal", customer);

  bus::KafkaOptions ko;
  ko.brokers = brokers;
  ko.client_id = "poison-test";
  auto kafka = bus::OpenKafkaBus(ko);
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  auto publisher = (*kafka)->NewPublisher();
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  int n = 0;
  for (const std::string& value :
       {not_an_envelope, unknown_payload, future.SerializeAsString(), normal.SerializeAsString()}) {
    bus::OutMessage m;
    m.topic = "threadline.sales.v1";
    m.key = customer;
    m.value = value;
    m.headers.push_back({"poison_run", run + "-" + std::to_string(n++)});
    ASSERT_TRUE((*publisher)
                    ->Publish(std::move(m), [](const absl::Status& s, int32_t,
                                               int64_t) { EXPECT_TRUE(s.ok()) << s; })
                    .ok());
  }
  ASSERT_TRUE((*publisher)->Flush(std::chrono::seconds(30)).ok());

  // The projector went on past the poison: the normal event is projected.
  auto stub = journey.Journey();
  v1::CustomerContext card;
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::GetCustomerContextRequest r;
        r.set_customer_id(customer);
        return stub->GetCustomerContext(Ctx().get(), r, &card).ok();
      },
      std::chrono::seconds(60)))
      << "the event after the poison was not projected; journey log:\n"
      << journey.Log();
  EXPECT_EQ(card.name(), "Poison Survivor");
  // Neither parked event reached the timeline.
  v1::GetTimelineRequest tr;
  tr.set_customer_id(customer);
  v1::GetTimelineResponse timeline;
  ASSERT_TRUE(stub->GetTimeline(Ctx().get(), tr, &timeline).ok());
  ASSERT_EQ(timeline.entries_size(), 1);
  EXPECT_EQ(timeline.entries(0).event_id(), run + "-normal");

  // The parked events are counted on /metrics (read with curl, a client
  // nobody here wrote). At least 3: an earlier run on the same broker left
  // its own poison, which this fresh projector reads again.
  double parked = 0;
  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        ChildProcess curl({"/usr/bin/curl", "-sS", "--max-time", "5",
                           "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"},
                          (dir.path() / "curl.log").string());
        curl.Wait(std::chrono::seconds(10));
        metrics = curl.Log();
        const std::string name = "\nthreadline_journey_dead_lettered_total ";
        auto at = metrics.find(name);
        if (at == std::string::npos) return false;
        parked = std::strtod(metrics.c_str() + at + name.size(), nullptr);
        return parked >= 3;
      },
      std::chrono::seconds(30)))
      << "threadline_journey_dead_lettered_total is " << parked << "; /metrics:\n"
      << metrics.substr(0, 3000);

  // Kafka's console consumer reads the dead letters with their headers.
  const char* script = std::getenv("THREADLINE_KAFKA_SCRIPT");
  ASSERT_NE(script, nullptr);
  std::string seen;
  ASSERT_TRUE(WaitFor(
      [&] {
        ChildProcess consumer(
            {script, "tool", "org.apache.kafka.tools.consumer.ConsoleConsumer",
             "--bootstrap-server", brokers, "--topic", "threadline.deadletter.v1",
             "--from-beginning", "--timeout-ms", "10000", "--property", "print.headers=true",
             "--property", "print.key=true", "--property", "print.value=false"},
            (dir.path() / "console.log").string());
        consumer.Wait(std::chrono::seconds(90));
        seen.clear();
        std::stringstream lines(consumer.Log());
        for (std::string line; std::getline(lines, line);) {
          if (line.find("deadletter_instance:" + run) != std::string::npos) seen += line + "\n";
        }
        return seen.find(run + "-2") != std::string::npos;
      },
      std::chrono::seconds(120)))
      << "dead letters of this run:\n"
      << seen;
  auto line_of = [&](int i) {
    std::string tag = "poison_run:" + run + "-" + std::to_string(i);
    auto at = seen.find(tag);
    if (at == std::string::npos) return std::string();
    auto start = seen.rfind('\n', at);
    auto end = seen.find('\n', at);
    return seen.substr(start == std::string::npos ? 0 : start + 1,
                       end - (start == std::string::npos ? 0 : start + 1));
  };
  const std::vector<std::string> reasons = {
      "deadletter_reason:not an EventEnvelope",
      "deadletter_reason:envelope with an unknown or empty payload",
      "deadletter_reason:schema_version 2 is newer than this projector understands"};
  for (int i = 0; i < 3; ++i) {
    std::string line = line_of(i);
    ASSERT_FALSE(line.empty()) << "poison " << i << " is not on the dead-letter topic:\n" << seen;
    EXPECT_NE(line.find(reasons[i]), std::string::npos) << line;
    EXPECT_NE(line.find("deadletter_source_topic:threadline.sales.v1"), std::string::npos) << line;
    EXPECT_NE(line.find("deadletter_consumer:journey"), std::string::npos) << line;
    EXPECT_NE(line.find("deadletter_source_offset:"), std::string::npos) << line;
    // The key is kept, so the poison stays with its customer.
    EXPECT_NE(line.find(customer), std::string::npos) << line;
  }
  // The normal event is not parked, and each poison is parked once.
  EXPECT_TRUE(line_of(3).empty()) << seen;
  for (int i = 0; i < 3; ++i) {
    size_t count = 0;
    for (size_t at = 0;
         (at = seen.find("poison_run:" + run + "-" + std::to_string(i), at)) != std::string::npos;
         ++at) {
      ++count;
    }
    EXPECT_EQ(count, 1u) << "poison " << i << " parked " << count << " times:\n" << seen;
  }
}

}  // namespace
}  // namespace threadline::testing
