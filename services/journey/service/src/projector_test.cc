#include "threadline/journey/projector.h"

#include <gmock/gmock.h>

#include <atomic>
#include <set>
#include <thread>

#include "keyspace.h"
#include "test_events.h"
#include "threadline/bus/embedded.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/topics.h"
#include "threadline/outbox/relay.h"
#include "threadline/testing/testing.h"

namespace threadline::journey {
namespace {

using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

using journey_testing::Contact;
using journey_testing::Event;
using journey_testing::kCustomer;
using journey_testing::kT0;
using journey_testing::Registered;
using journey_testing::TimelineIds;

class ProjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = journey_testing::OpenTestBus(dir_.path(), 3);
    ASSERT_NE(bus_, nullptr);
    publisher_ = std::move(*bus_->NewPublisher());
  }

  std::unique_ptr<Projector> OpenProjector(const std::string& name, bool publish = true) {
    ProjectorOptions o;
    o.path = (dir_.path() / name).string();
    o.publish = publish;
    o.poll_wait = std::chrono::milliseconds(20);
    auto p = Projector::Open(o, bus_.get());
    EXPECT_OK(p);
    return std::move(*p);
  }

  void Publish(const v1::EventEnvelope& e) {
    std::string topic = domain::DepartmentTopic(e.department());
    ASSERT_OK(publisher_->Publish(outbox::ToMessage(e, topic), nullptr));
  }
  void PublishRaw(const std::string& topic, const std::string& value) {
    bus::OutMessage m;
    m.topic = topic;
    m.key = kCustomer;
    m.value = value;
    ASSERT_OK(publisher_->Publish(std::move(m), nullptr));
  }

  TempDir dir_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
};

TEST_F(ProjectorTest, TimelineInOccurredOrderWithLateEventsInPlaceAndDuplicatesDropped) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  Publish(Contact(20, "e2"));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 2; }));
  Publish(Contact(10, "e1"));  // arrives late, happened earlier
  Publish(Contact(20, "e2"));  // a duplicate from a re-publishing relay
  ASSERT_TRUE(WaitFor([&] { return p->Stats().consumed == 4; }));
  EXPECT_EQ(TimelineIds(*p), (std::vector<std::string>{"e0", "e1", "e2"}));
  EXPECT_EQ(p->Stats().duplicates, 1u);
  EXPECT_GE(p->Stats().refolds, 1u);
  auto card = p->GetCustomerContext(kCustomer);
  ASSERT_OK(card);
  EXPECT_EQ(card->name(), "Anna de Vries");
  EXPECT_EQ(card->timeline_length(), 3u);
}

TEST_F(ProjectorTest, RestartResumesFromStoredOffsetsWithoutDoubling) {
  {
    auto p = OpenProjector("journey");
    ASSERT_OK(p->Start());
    Publish(Registered(0, "e0"));
    Publish(Contact(1, "e1"));
    ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 2; }));
    p->Stop();
  }
  Publish(Contact(2, "e2"));
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 3; }));
  EXPECT_EQ(p->Stats().consumed, 1u);  // only the new message was read
  EXPECT_EQ(TimelineIds(*p), (std::vector<std::string>{"e0", "e1", "e2"}));
}

TEST_F(ProjectorTest, RebuildEqualsLive) {
  auto live = OpenProjector("journey");
  ASSERT_OK(live->Start());
  Publish(Registered(0, "e0"));
  for (int i = 1; i < 50; ++i) Publish(Contact(100 - i, "c" + std::to_string(i)));
  auto sw = Event(7, "sw", v1::DEPARTMENT_SALES);
  sw.mutable_product_switched()->set_from_sku("ZZ");
  sw.mutable_product_switched()->set_to_sku("ZZ-2");
  Publish(sw);
  ASSERT_TRUE(WaitFor([&] { return live->Stats().consumed == 51; }));
  auto rebuilt = OpenProjector("rebuild", /*publish=*/false);
  ASSERT_OK(rebuilt->CatchUp(nullptr));
  EXPECT_EQ(rebuilt->Stats().projected, 51u);
  auto a = live->Fingerprint({});
  auto b = rebuilt->Fingerprint({});
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->substr(0, 3), "51:");
  // Restricted to customers: the same for theirs, nothing for another.
  EXPECT_EQ(*live->Fingerprint({kCustomer}), *a);
  EXPECT_EQ(live->Fingerprint({"cus_0190bbbbbbbbbbbbbbbbbbbbbbbbbbbb"})->substr(0, 2), "0:");
}

// A rebuild reads a customer's events from four topics that drift apart in
// time, so many arrive late within one poll: the card is folded once for the
// whole batch, and comes out equal to the card of a projector that saw the
// same events one at a time and folded for each late one.
TEST_F(ProjectorTest, LateEventsOfOneBatchFoldTheCardOnceWithTheSameResult) {
  auto live = OpenProjector("journey");
  ASSERT_OK(live->Start());
  const std::vector<std::pair<int, std::string>> arrival = {
      {50, "c5"}, {0, "e0"}, {30, "c3"}, {10, "c1"}, {60, "c6"}, {20, "c2"}, {40, "c4"}};
  uint64_t sent = 0;
  for (const auto& [at, id] : arrival) {
    Publish(id == "e0" ? Registered(at, id) : Contact(at, id));
    ++sent;
    ASSERT_TRUE(WaitFor([&] { return live->Stats().consumed == sent; }));
  }
  EXPECT_EQ(live->Stats().refolds, 5u);  // e0, c3, c1, c2, c4 each arrived late
  ASSERT_OK(publisher_->Flush(std::chrono::seconds(10)));

  auto rebuilt = OpenProjector("rebuild", /*publish=*/false);
  ASSERT_OK(rebuilt->CatchUp(nullptr));
  EXPECT_EQ(rebuilt->Stats().consumed, 7u);
  EXPECT_EQ(rebuilt->Stats().refolds, 1u);  // one poll, one fold
  const std::vector<std::string> in_order = {"e0", "c1", "c2", "c3", "c4", "c5", "c6"};
  EXPECT_EQ(TimelineIds(*rebuilt), in_order);
  EXPECT_EQ(TimelineIds(*live), in_order);
  auto a = live->Fingerprint({});
  auto b = rebuilt->Fingerprint({});
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
  auto card = rebuilt->GetCustomerContext(kCustomer);
  ASSERT_OK(card);
  EXPECT_EQ(card->name(), "Anna de Vries");
  EXPECT_EQ(card->timeline_length(), 7u);
}

TEST_F(ProjectorTest, FindCustomerByPhoneInAnyFormatEmailOrName) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 1; }));
  for (const std::string q :
       {"+31 6 1234 5678", "0031-6-12345678", "06-1234 5678", "ANNA@example.org", "anna d"}) {
    v1::FindCustomerRequest r;
    r.set_query(q);
    auto found = p->FindCustomer(r);
    ASSERT_OK(found);
    ASSERT_EQ(found->matches_size(), 1) << q;
    EXPECT_EQ(found->matches(0).customer_id(), kCustomer);
    EXPECT_EQ(found->matches(0).name(), "Anna de Vries");
  }
  v1::FindCustomerRequest r;
  r.set_query("Bert");
  EXPECT_EQ(p->FindCustomer(r)->matches_size(), 0);
}

TEST_F(ProjectorTest, PoisonMessagesAreParkedAndTheProjectorKeepsGoing) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  PublishRaw("threadline.sales.v1", "\xff\xfe not an envelope");
  auto future = Contact(1, "future");
  future.set_schema_version(99);
  Publish(future);
  auto empty = Event(2, "empty");
  Publish(empty);  // no payload
  Publish(Registered(0, "e0"));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 1; }));
  EXPECT_EQ(p->Stats().dead_lettered, 3u);

  // Each is on the dead-letter topic, untouched, with the reason.
  auto consumer = std::move(*bus_->NewConsumer());
  std::vector<bus::PartitionStart> starts;
  for (int part = 0; part < 3; ++part) starts.push_back({{domain::kDeadLetterTopic, part}, 0});
  ASSERT_OK(consumer->Assign(starts));
  std::vector<bus::Message> parked;
  ASSERT_TRUE(WaitFor([&] {
    auto b = consumer->Poll(10, std::chrono::milliseconds(20));
    if (b.ok()) parked.insert(parked.end(), b->begin(), b->end());
    return parked.size() >= 3;
  }));
  std::set<std::string> reasons;
  for (const auto& m : parked) {
    reasons.insert(m.HeaderValue("deadletter_reason"));
    EXPECT_EQ(m.HeaderValue("deadletter_source_topic"), "threadline.sales.v1");
  }
  EXPECT_TRUE(reasons.count("not an EventEnvelope"));
  EXPECT_TRUE(reasons.count("envelope with an unknown or empty payload"));
  EXPECT_EQ(parked.size(), 3u);
}

// Ids a producer with access to a department topic could write: each is
// parked with its reason, none reaches the victim's keys, and the projector
// goes on with the next message.
TEST_F(ProjectorTest, InvalidEnvelopesAreParkedAndTheVictimsJourneyIsUnchanged) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  Publish(Contact(1, "e1"));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 2; }));
  auto before = p->Fingerprint({kCustomer});
  ASSERT_OK(before);

  std::vector<v1::EventEnvelope> hostile;
  hostile.push_back(Contact(2, "nul"));
  hostile.back().set_customer_id(std::string(kCustomer) + std::string("\0zz", 3));
  hostile.push_back(Contact(3, "big"));
  hostile.back().set_customer_id(std::string(10'240, 'c'));
  hostile.push_back(Contact(4, "utf8-customer"));
  hostile.back().set_customer_id(std::string(kCustomer) + "\xc3\x28");
  hostile.push_back(Contact(5, "\xff\xfe"));
  hostile.push_back(Contact(6, "utf8-aggregate"));
  hostile.back().set_aggregate_id("cus_\xed\xa0\x80");
  hostile.push_back(Contact(7, "utf8-text"));
  hostile.back().mutable_contact_logged()->set_outcome("\xc0\xaf");
  for (const auto& e : hostile) Publish(e);
  const std::string other = "cus_0190bbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  auto after = Contact(8, "e8");
  after.set_customer_id(other);
  Publish(after);
  ASSERT_TRUE(WaitFor([&] { return p->Stats().consumed == 2 + hostile.size() + 1; }));
  EXPECT_EQ(p->Stats().dead_lettered, hostile.size());
  EXPECT_EQ(p->Stats().projected, 3u);

  EXPECT_EQ(TimelineIds(*p), (std::vector<std::string>{"e0", "e1"}));
  EXPECT_EQ(*p->Fingerprint({kCustomer}), *before);
  auto card = p->GetCustomerContext(kCustomer);
  ASSERT_OK(card);
  EXPECT_EQ(card->timeline_length(), 2u);
  auto next = p->GetCustomerContext(other);
  ASSERT_OK(next);
  EXPECT_EQ(next->timeline_length(), 1u);

  auto consumer = std::move(*bus_->NewConsumer());
  std::vector<bus::PartitionStart> starts;
  for (int part = 0; part < 3; ++part) starts.push_back({{domain::kDeadLetterTopic, part}, 0});
  ASSERT_OK(consumer->Assign(starts));
  std::vector<bus::Message> parked;
  ASSERT_TRUE(WaitFor([&] {
    auto b = consumer->Poll(10, std::chrono::milliseconds(20));
    if (b.ok()) parked.insert(parked.end(), b->begin(), b->end());
    return parked.size() >= hostile.size();
  }));
  // Protobuf refuses a proto3 string that is not UTF-8 while parsing; the
  // rest name the field.
  std::multiset<std::string> reasons;
  for (const auto& m : parked) {
    std::string reason = m.HeaderValue("deadletter_reason");
    if (reason.starts_with("invalid envelope: ")) reason = reason.substr(0, reason.find(':', 18));
    reasons.insert(reason);
  }
  EXPECT_EQ(reasons, (std::multiset<std::string>{"invalid envelope: customer_id",
                                                 "invalid envelope: customer_id",
                                                 "not an EventEnvelope", "not an EventEnvelope",
                                                 "not an EventEnvelope", "not an EventEnvelope"}));
}

TEST(KeyspaceTest, NoCustomerIdReachesAnotherCustomersRange) {
  const std::string victim = kCustomer;
  // Valid ids are written as they always were.
  EXPECT_EQ(keys::CustomerPrefix(victim), victim + std::string(1, '\0'));
  EXPECT_EQ(keys::CardKey(victim), victim);
  for (const std::string& hostile : {victim + std::string("\0zz", 3), victim + std::string("\1", 1),
                                     std::string("\0", 1) + victim}) {
    std::string key = keys::CustomerPrefix(hostile) + keys::OrderFrom(kT0);
    EXPECT_FALSE(key.starts_with(keys::CustomerPrefix(victim)));
    EXPECT_NE(keys::CustomerOfEventKey(key), victim);
    EXPECT_NE(keys::CardKey(hostile), victim);
    EXPECT_NE(keys::CustomerOfSearchEntry(keys::NameKey("anna", hostile), ""), victim);
  }
  // Escaping is one to one.
  EXPECT_NE(keys::Component(std::string("a\0", 2)), keys::Component(std::string("a\1\2", 3)));
}

// Clock skew: a missed call recorded with called_at 4 minutes ahead and
// completed at once. Its completion sorts before the call, whichever arrives
// first; the card closes the callback all the same, and a rebuild agrees.
TEST_F(ProjectorTest, ACallbackCompletedBeforeItsCallIsClosedOnTheCard) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  auto call = [&](const std::string& id, const std::string& callback) {
    auto e = Event(240, id, v1::DEPARTMENT_SUPPORT);
    auto* m = e.mutable_missed_call_recorded();
    m->set_callback_id(callback);
    m->set_caller_number("+31612345678");
    *m->mutable_called_at() = e.occurred_at();
    *m->mutable_sla_due_at() = domain::ToProto(kT0 + std::chrono::hours(1));
    return e;
  };
  auto completed = [&](const std::string& id, const std::string& callback) {
    auto e = Event(1, id, v1::DEPARTMENT_SUPPORT);
    e.mutable_callback_completed()->set_callback_id(callback);
    e.mutable_callback_completed()->set_reached(true);
    return e;
  };
  Publish(Registered(0, "e0"));
  Publish(call("call-1", "cb_1"));  // the call first, its completion late
  Publish(completed("done-1", "cb_1"));
  Publish(completed("done-2", "cb_2"));  // the completion first, the call after it
  ASSERT_TRUE(WaitFor([&] { return p->Stats().consumed == 4; }));
  Publish(call("call-2", "cb_2"));
  ASSERT_TRUE(WaitFor([&] { return p->Stats().consumed == 5; }));
  EXPECT_EQ(TimelineIds(*p),
            (std::vector<std::string>{"e0", "done-1", "done-2", "call-1", "call-2"}));
  auto card = p->GetCustomerContext(kCustomer);
  ASSERT_OK(card);
  EXPECT_EQ(card->open_callbacks_size(), 0);
  for (const auto& g : card->guidance()) EXPECT_NE(g.code(), "CALLBACK_OVERDUE");

  ASSERT_OK(publisher_->Flush(std::chrono::seconds(10)));
  auto rebuilt = OpenProjector("rebuild", /*publish=*/false);
  ASSERT_OK(rebuilt->CatchUp(nullptr));
  EXPECT_EQ(*rebuilt->Fingerprint({}), *p->Fingerprint({}));
}

TEST_F(ProjectorTest, SubscribersResumeFromATokenWithNothingMissedOrRepeated) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  Publish(Contact(1, "e1"));
  ASSERT_TRUE(WaitFor([&] { return p->Stats().sequence == 2; }));
  v1::SubscribeJourneyRequest r;
  r.set_resume_token("0");
  std::vector<v1::JourneyUpdate> got;
  std::atomic<bool> done{false};
  std::thread sub([&] {
    absl::Status s = p->Subscribe(
        r,
        [&](const v1::JourneyUpdate& u) {
          got.push_back(u);
          return got.size() < 2;  // disconnect after two
        },
        [&] { return done.load(); }, 1000);
    EXPECT_OK(s);
  });
  sub.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].entry().event_id(), "e1");
  EXPECT_EQ(got[1].context().name(), "Anna de Vries");
  Publish(Contact(2, "e2"));
  r.set_resume_token(got.back().resume_token());
  std::vector<std::string> resumed;
  absl::Status s = p->Subscribe(
      r,
      [&](const v1::JourneyUpdate& u) {
        resumed.push_back(u.entry().event_id());
        return false;
      },
      [] { return false; }, 1000);
  EXPECT_OK(s);
  EXPECT_EQ(resumed, (std::vector<std::string>{"e2"}));
  r.set_resume_token("not-a-token");
  EXPECT_EQ(p->Subscribe(
                 r, [](const v1::JourneyUpdate&) { return true; }, [] { return true; }, 1)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// A subscription pulled without a thread of its own (what a gRPC stream
// does): kWait when there is nothing new, one wake when there is, then the
// update with its card; UNAVAILABLE once the projector stops.
TEST_F(ProjectorTest, ASubscriptionWaitsWithoutAThreadAndIsWokenByNewEntries) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  ASSERT_TRUE(WaitFor([&] { return p->Stats().sequence == 1; }));
  std::atomic<int> wakes{0};
  v1::SubscribeJourneyRequest r;  // from now, every customer
  auto sub = p->OpenSubscription(r, 1000, [&] { ++wakes; });
  ASSERT_OK(sub);
  EXPECT_EQ(p->Stats().subscribers, 1u);
  v1::JourneyUpdate u;
  auto step = (*sub)->Next(u);
  ASSERT_OK(step);
  EXPECT_EQ(*step, server::StreamStep::kWait);
  EXPECT_EQ(wakes.load(), 0);

  Publish(Contact(1, "e1"));
  ASSERT_TRUE(WaitFor([&] { return wakes.load() == 1; }));
  step = (*sub)->Next(u);
  ASSERT_OK(step);
  ASSERT_EQ(*step, server::StreamStep::kMessage);
  EXPECT_EQ(u.entry().event_id(), "e1");
  EXPECT_EQ(u.context().name(), "Anna de Vries");
  EXPECT_EQ(u.resume_token(), "2");
  // Caught up: it waits again (after looking once more at the head).
  do {
    step = (*sub)->Next(u);
    ASSERT_OK(step);
  } while (*step == server::StreamStep::kAgain);
  EXPECT_EQ(*step, server::StreamStep::kWait);

  p->Stop();
  EXPECT_EQ(wakes.load(), 2);  // the stop wakes it too
  EXPECT_EQ((*sub)->Next(u).status().code(), absl::StatusCode::kUnavailable);
  sub->reset();
  EXPECT_EQ(p->Stats().subscribers, 0u);
}

TEST_F(ProjectorTest, SlowSubscriberIsCutOffWithAClearStatus) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  for (int i = 0; i < 20; ++i) Publish(Contact(i, "c" + std::to_string(i)));
  ASSERT_TRUE(WaitFor([&] { return p->Stats().consumed == 20; }));
  v1::SubscribeJourneyRequest r;
  r.set_resume_token("0");
  auto s = p->Subscribe(
      r, [](const v1::JourneyUpdate&) { return true; }, [] { return false; }, 5);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
}

// A buggy or hostile reader gets INVALID_ARGUMENT naming the field, never a
// scan from the year 1 or a subscription to ids that cannot exist.
TEST_F(ProjectorTest, BadTimelineFiltersAndSubscriptionsNameTheField) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 1; }));
  auto timeline_error = [&](auto mutate) {
    v1::GetTimelineRequest r;
    r.set_customer_id(kCustomer);
    mutate(r);
    auto t = p->GetTimeline(r);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << t.status();
    return std::string(t.status().message());
  };
  EXPECT_THAT(timeline_error([](auto& r) { r.add_departments(static_cast<v1::Department>(999)); }),
              ::testing::StartsWith("departments[0]"));
  EXPECT_THAT(timeline_error([](auto& r) {
                r.add_channels(v1::CHANNEL_PHONE);
                r.add_channels(v1::CHANNEL_UNSPECIFIED);
              }),
              ::testing::StartsWith("channels[1]"));
  EXPECT_THAT(timeline_error([](auto& r) {
                r.mutable_time_range()->mutable_start()->set_seconds(-62135596800);  // year 1
              }),
              ::testing::StartsWith("time_range.start"));
  EXPECT_THAT(timeline_error([](auto& r) {
                r.mutable_time_range()->mutable_end()->set_seconds(1'800'000'000);
                r.mutable_time_range()->mutable_end()->set_nanos(-1);
              }),
              ::testing::StartsWith("time_range.end"));
  EXPECT_THAT(timeline_error([](auto& r) {
                r.mutable_time_range()->mutable_start()->set_seconds(1'800'000'000);
                r.mutable_time_range()->mutable_end()->set_seconds(1'700'000'000);
              }),
              ::testing::StartsWith("time_range: start must be before end"));
  // A valid range alone still reads.
  v1::GetTimelineRequest ok;
  ok.set_customer_id(kCustomer);
  ok.mutable_time_range()->mutable_end()->set_seconds(4'000'000'000);
  auto t = p->GetTimeline(ok);
  ASSERT_OK(t);
  EXPECT_EQ(t->entries_size(), 1);

  auto subscribe_error = [&](const v1::SubscribeJourneyRequest& r) {
    auto s = p->Subscribe(
        r, [](const v1::JourneyUpdate&) { return true; }, [] { return true; }, 5);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    return std::string(s.message());
  };
  v1::SubscribeJourneyRequest bad_id;
  bad_id.add_customer_ids(kCustomer);
  bad_id.add_customer_ids("x0");
  EXPECT_THAT(subscribe_error(bad_id), ::testing::StartsWith("customer_ids[1]"));
  v1::SubscribeJourneyRequest too_many;
  for (int i = 0; i < 10'000; ++i) too_many.add_customer_ids(kCustomer);
  EXPECT_THAT(subscribe_error(too_many), ::testing::StartsWith("customer_ids"));
}

// Page tokens are opaque and continue only the request they were given for
// (AIP-158); a token of an earlier build (hex) still continues.
TEST_F(ProjectorTest, PageTokensAreOpaqueAndBoundToTheirRequest) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  for (int i = 1; i <= 4; ++i) Publish(Contact(i, "c" + std::to_string(i)));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 5; }));
  v1::GetTimelineRequest first;
  first.set_customer_id(kCustomer);
  first.set_page_size(2);
  auto page1 = p->GetTimeline(first);
  ASSERT_OK(page1);
  ASSERT_EQ(page1->entries_size(), 2);
  const std::string token = page1->next_page_token();
  ASSERT_THAT(token, ::testing::StartsWith("t1."));
  // Not the hex of a key any more.
  EXPECT_EQ(token.find(kCustomer), std::string::npos);

  // The next page, with another page size (allowed).
  v1::GetTimelineRequest next = first;
  next.set_page_token(token);
  next.set_page_size(10);
  auto page2 = p->GetTimeline(next);
  ASSERT_OK(page2);
  ASSERT_EQ(page2->entries_size(), 3);
  EXPECT_NE(page2->entries(0).event_id(), page1->entries(1).event_id());
  EXPECT_TRUE(page2->next_page_token().empty());

  // Changed filters with the old token: refused.
  v1::GetTimelineRequest filtered = next;
  filtered.add_channels(v1::CHANNEL_PHONE);
  auto refused = p->GetTimeline(filtered);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("was given for another request"));
  // A tampered token: refused.
  v1::GetTimelineRequest tampered = next;
  tampered.set_page_token("t1.!!!");
  EXPECT_EQ(p->GetTimeline(tampered).status().code(), absl::StatusCode::kInvalidArgument);

  // A hex token as earlier builds gave them: the order of the last entry.
  const auto ids = TimelineIds(*p);
  v1::GetTimelineRequest all;
  all.set_customer_id(kCustomer);
  auto everything = p->GetTimeline(all);
  ASSERT_OK(everything);
  ASSERT_EQ(everything->entries_size(), 5);
  v1::EventEnvelope second;
  second.set_event_id(everything->entries(1).event_id());
  *second.mutable_occurred_at() = everything->entries(1).occurred_at();
  v1::GetTimelineRequest legacy = first;
  legacy.set_page_token(keys::Hex(keys::Order(second)));
  auto legacy_page = p->GetTimeline(legacy);
  ASSERT_OK(legacy_page);
  ASSERT_EQ(legacy_page->entries_size(), 2);
  EXPECT_EQ(legacy_page->entries(0).event_id(), everything->entries(2).event_id());
  EXPECT_EQ(ids.size(), 5u);
}

TEST_F(ProjectorTest, EveryEntryIsPublishedToTheJourneyTopic) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Registered(0, "e0"));
  Publish(Contact(1, "e1"));
  ASSERT_TRUE(WaitFor([&] { return p->Stats().published_sequence == 2; }));
  auto consumer = std::move(*bus_->NewConsumer());
  ASSERT_OK(consumer->Assign({{{domain::kJourneyTopic, bus::PartitionForKey(kCustomer, 3)}, 0}}));
  std::vector<bus::Message> got;
  ASSERT_TRUE(WaitFor([&] {
    auto b = consumer->Poll(10, std::chrono::milliseconds(20));
    if (b.ok()) got.insert(got.end(), b->begin(), b->end());
    return got.size() >= 2;
  }));
  v1::JourneyUpdate u;
  ASSERT_TRUE(u.ParseFromString(got[1].value));
  EXPECT_EQ(u.entry().event_id(), "e1");
  EXPECT_EQ(got[1].key, kCustomer);
}

}  // namespace
}  // namespace threadline::journey
