// The journey with sealing on: a real key vault, the real embedded bus and
// real RocksDB stores.

#include <gmock/gmock.h>

#include <set>

#include "keyspace.h"
#include "store.h"
#include "test_events.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/projector.h"
#include "threadline/journey/service.h"
#include "threadline/outbox/relay.h"
#include "threadline/privacy/sealer.h"
#include "threadline/privacy/vault.h"
#include "threadline/server/face.h"
#include "threadline/testing/testing.h"

namespace threadline::journey {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::threadline::testing::FilesContaining;
using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

using journey_testing::Event;
using journey_testing::TimelineIds;

// A person with distinctive personal data, so a byte search finds any copy.
struct Person {
  std::string customer, name, phone, email, street;
};
const Person kOttoline{journey_testing::kCustomer, "Ottoline Vanderbeek-Marchetti", "+31687654321",
                       "ottoline.vanderbeek@example.org", "Keizersgracht 1234"};
const Person kBart{"cus_0190bbbbbbbbbbbbbbbbbbbbbbbbbbbb", "Bartholomew Quince", "+442079460123",
                   "bart.quince@example.com", "Threadneedle Street 77"};
// What must be on no disk once sealed: pieces of Ottoline's data.
const std::vector<std::string> kOttolineNeedles = {"Ottoline", "Vanderbeek", "Marchetti",
                                                   "687654321", "Keizersgracht"};

v1::EventEnvelope Of(const Person& p, v1::EventEnvelope e) {
  e.set_customer_id(p.customer);
  return e;
}

// A person's story, each event as its department writes it before sealing:
// registration, an order, a ticket about them, an invoice, a call.
std::vector<v1::EventEnvelope> Story(const Person& p, const std::string& tag) {
  std::vector<v1::EventEnvelope> out;
  auto reg = Of(p, Event(0, tag + "-reg"));
  auto* r = reg.mutable_customer_registered();
  r->set_customer_id(p.customer);
  r->set_name(p.name);
  r->add_phone_numbers(p.phone);
  r->add_emails(p.email);
  r->mutable_address()->set_line1(p.street);
  r->mutable_address()->set_country("NL");
  out.push_back(reg);

  auto order = Of(p, Event(10, tag + "-order"));
  auto* o = order.mutable_order_placed();
  o->set_order_id("ord_" + tag);
  auto* item = o->add_items();
  item->set_sku("BB-500");
  item->set_description("Fibre 500 for " + p.name);
  out.push_back(order);

  auto ticket = Of(p, Event(20, tag + "-ticket", v1::DEPARTMENT_SUPPORT));
  auto* t = ticket.mutable_ticket_opened();
  t->set_ticket_id("tkt_" + tag);
  t->set_category(v1::TICKET_CATEGORY_COMPLAINT);
  t->set_subject(p.name + " has no signal");
  out.push_back(ticket);

  auto invoice = Of(p, Event(30, tag + "-invoice", v1::DEPARTMENT_BILLING));
  auto* i = invoice.mutable_invoice_issued();
  i->set_invoice_id("inv_" + tag);
  i->mutable_total()->set_amount_minor(4999);
  i->mutable_total()->set_currency("EUR");
  out.push_back(invoice);

  auto call = Of(p, Event(40, tag + "-call"));
  call.mutable_contact_logged()->set_outcome("spoke with " + p.name);
  out.push_back(call);
  return out;
}

// The privacy service's record of an erasure (no personal data in it).
v1::EventEnvelope Erasure(const std::string& customer, const std::string& id) {
  auto e = Event(100, id, v1::DEPARTMENT_PRIVACY);
  e.set_customer_id(customer);
  e.set_channel(v1::CHANNEL_SYSTEM);
  e.mutable_customer_erased()->set_customer_id(customer);
  e.mutable_customer_erased()->set_reason("request under GDPR Art. 17");
  return e;
}

v1::FindCustomerResponse Find(Projector& p, const std::string& query) {
  v1::FindCustomerRequest r;
  r.set_query(query);
  auto found = p.FindCustomer(r);
  EXPECT_OK(found) << query;
  return found.ok() ? *found : v1::FindCustomerResponse();
}

std::vector<std::string> FoundIds(Projector& p, const std::string& query) {
  std::vector<std::string> ids;
  const auto found = Find(p, query);
  for (const auto& m : found.matches()) ids.push_back(m.customer_id());
  return ids;
}

std::vector<v1::TimelineEntry> Timeline(Projector& p, const std::string& customer) {
  v1::GetTimelineRequest r;
  r.set_customer_id(customer);
  r.set_page_size(500);
  auto t = p.GetTimeline(r);
  EXPECT_OK(t);
  if (!t.ok()) return {};
  return {t->entries().begin(), t->entries().end()};
}

// Every query a person's data may be found by.
std::vector<std::string> Queries(const Person& p) {
  std::string national = "0" + p.phone.substr(3);  // "+31687654321" -> "0687654321"
  return {p.phone, national, p.email, p.name.substr(0, 6), p.name};
}

class JourneyPrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = journey_testing::OpenTestBus(dir_.path(), 3);
    ASSERT_NE(bus_, nullptr);
    publisher_ = std::move(*bus_->NewPublisher());
    privacy::VaultOptions vo;
    vo.path = (dir_.path() / "vault").string();
    vo.master = privacy::RandomKey();
    auto v = privacy::Vault::Open(vo);
    ASSERT_OK(v);
    vault_ = std::move(*v);
  }

  std::unique_ptr<Projector> OpenProjector(bus::Bus* bus, const std::filesystem::path& path,
                                           bool publish = true, bool sealing = true) {
    ProjectorOptions o;
    o.path = path.string();
    o.publish = publish;
    o.poll_wait = std::chrono::milliseconds(20);
    o.keys = sealing ? vault_.get() : nullptr;
    auto p = Projector::Open(o, bus);
    EXPECT_OK(p);
    return p.ok() ? std::move(*p) : nullptr;
  }
  std::unique_ptr<Projector> OpenProjector(const std::string& name, bool publish = true,
                                           bool sealing = true) {
    return OpenProjector(bus_.get(), dir_.path() / name, publish, sealing);
  }

  // `e` sealed under its customer's key, as the department's store keeps it.
  v1::EventEnvelope Sealed(v1::EventEnvelope e) {
    auto key = vault_->Obtain(privacy::SubjectOf(e));
    EXPECT_OK(key);
    if (key.ok()) privacy::SealEvent(e, *key);
    return e;
  }
  std::vector<v1::EventEnvelope> Sealed(std::vector<v1::EventEnvelope> events) {
    for (auto& e : events) e = Sealed(std::move(e));
    return events;
  }

  static void Publish(bus::Publisher& to, const v1::EventEnvelope& e) {
    ASSERT_OK(to.Publish(outbox::ToMessage(e, domain::DepartmentTopic(e.department())), nullptr));
  }
  void Publish(const v1::EventEnvelope& e) { Publish(*publisher_, e); }
  void Publish(const std::vector<v1::EventEnvelope>& events) {
    for (const auto& e : events) Publish(e);
  }

  // The messages on every partition of `topic`, once `n` are there.
  std::vector<bus::Message> Consume(const std::string& topic, size_t n) {
    auto consumer = std::move(*bus_->NewConsumer());
    std::vector<bus::PartitionStart> starts;
    for (int part = 0; part < 3; ++part) starts.push_back({{topic, part}, 0});
    EXPECT_OK(consumer->Assign(starts));
    std::vector<bus::Message> got;
    EXPECT_TRUE(WaitFor([&] {
      auto b = consumer->Poll(100, std::chrono::milliseconds(20));
      if (b.ok()) got.insert(got.end(), b->begin(), b->end());
      return got.size() >= n;
    }));
    return got;
  }

  // Search entries per customer, read from a closed journey store.
  std::map<std::string, size_t> SearchEntries(const std::filesystem::path& path) {
    std::map<std::string, size_t> owners;
    auto store = JourneyStore::Open(path.string());
    EXPECT_OK(store);
    if (!store.ok()) return owners;
    auto it = (*store)->NewIterator(keys::Family::kSearch);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++owners[std::string(
          keys::CustomerOfSearchEntry(it->key().ToStringView(), it->value().ToStringView()))];
    }
    return owners;
  }

  TempDir dir_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<privacy::Vault> vault_;
};

TEST_F(JourneyPrivacyTest, SealedEventsReadInTheClearWhileNothingPersonalIsStored) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  const auto story = Sealed(Story(kOttoline, "o"));
  ASSERT_TRUE(privacy::IsSealed(story[0].customer_registered().name()));
  Publish(story);
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == story.size(); }));

  auto card = p->GetCustomerContext(kOttoline.customer);
  ASSERT_OK(card);
  EXPECT_EQ(card->name(), kOttoline.name);
  EXPECT_THAT(card->phone_numbers(), ::testing::ElementsAre(kOttoline.phone));
  EXPECT_THAT(card->emails(), ::testing::ElementsAre(kOttoline.email));
  ASSERT_EQ(card->open_tickets_size(), 1);
  EXPECT_EQ(card->open_tickets(0).subject(), kOttoline.name + " has no signal");
  ASSERT_EQ(card->products_size(), 1);
  EXPECT_EQ(card->products(0).description(), "Fibre 500 for " + kOttoline.name);
  EXPECT_FALSE(card->erased());
  auto timeline = Timeline(*p, kOttoline.customer);
  ASSERT_EQ(timeline.size(), story.size());
  EXPECT_EQ(timeline[0].summary(), "Customer " + kOttoline.name + " registered");
  EXPECT_EQ(timeline[4].summary(),
            "We contacted the customer by unspecified: spoke with " + kOttoline.name);

  for (const auto& q : Queries(kOttoline)) {
    auto found = Find(*p, q);
    ASSERT_EQ(found.matches_size(), 1) << q;
    EXPECT_EQ(found.matches(0).customer_id(), kOttoline.customer) << q;
    EXPECT_EQ(found.matches(0).name(), kOttoline.name) << q;
  }
  // Longer than the indexed name prefixes: checked against the card.
  EXPECT_EQ(FoundIds(*p, "ottoline vanderbeek-march"),
            std::vector<std::string>{kOttoline.customer});
  EXPECT_THAT(FoundIds(*p, "ottoline vanderbeek-marcx"), IsEmpty());
  EXPECT_THAT(FoundIds(*p, "Bartholomew"), IsEmpty());

  // A subscriber reads the entries and the card opened (in arrival order:
  // the registration's topic may come after another's).
  v1::SubscribeJourneyRequest sr;
  sr.set_resume_token("0");
  std::vector<v1::JourneyUpdate> got;
  ASSERT_OK(p->Subscribe(
      sr,
      [&](const v1::JourneyUpdate& u) {
        got.push_back(u);
        return got.size() < story.size();
      },
      [] { return false; }, 1000));
  ASSERT_EQ(got.size(), story.size());
  for (const auto& u : got) {
    EXPECT_EQ(u.context().name(), kOttoline.name);
    if (u.entry().event_id() == "o-reg") {
      EXPECT_EQ(u.entry().summary(), "Customer " + kOttoline.name + " registered");
    }
    EXPECT_FALSE(privacy::IsSealed(u.entry().summary())) << u.entry().event_id();
  }

  // The export holds every event, opened, in timeline order.
  auto exported = p->ExportCustomer(kOttoline.customer);
  ASSERT_OK(exported);
  EXPECT_EQ(exported->customer_id(), kOttoline.customer);
  EXPECT_EQ(exported->card().name(), kOttoline.name);
  ASSERT_EQ(exported->events_size(), static_cast<int>(story.size()));
  EXPECT_EQ(exported->events(0).event_id(), "o-reg");
  EXPECT_EQ(exported->events(0).customer_registered().name(), kOttoline.name);
  EXPECT_EQ(exported->events(0).customer_registered().address().line1(), kOttoline.street);
  EXPECT_EQ(exported->events(2).ticket_opened().subject(), kOttoline.name + " has no signal");
  EXPECT_EQ(p->ExportCustomer(kBart.customer).status().code(), absl::StatusCode::kNotFound);

  // The journey topic carries the entries sealed.
  ASSERT_TRUE(WaitFor([&] { return p->Stats().published_sequence == story.size(); }));
  auto published = Consume(domain::kJourneyTopic, story.size());
  ASSERT_EQ(published.size(), story.size());
  for (const auto& m : published) {
    v1::JourneyUpdate u;
    ASSERT_TRUE(u.ParseFromString(m.value));
    EXPECT_TRUE(privacy::IsSealed(u.entry().summary())) << u.entry().event_id();
  }

  p->Stop();
  p.reset();  // closed: every file complete
  for (const auto& needle : kOttolineNeedles) {
    EXPECT_THAT(FilesContaining(dir_.path() / "journey", needle), IsEmpty()) << needle;
    EXPECT_THAT(FilesContaining(dir_.path() / "bus", needle), IsEmpty()) << needle;
  }
  // The index holds Ottoline's entries, blinded, and the list of them.
  EXPECT_GT(SearchEntries(dir_.path() / "journey")[kOttoline.customer], 10u);
}

TEST_F(JourneyPrivacyTest, AFieldThatDoesNotOpenIsParkedAndNeverProjected) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(Sealed(Story(kOttoline, "o")[0]));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 1; }));

  auto genuine = Of(kOttoline, Event(50, "c1"));
  genuine.mutable_contact_logged()->set_outcome("promised Ottoline a call back");
  genuine = Sealed(genuine);
  const std::string sealed = genuine.contact_logged().outcome();
  ASSERT_TRUE(privacy::IsSealed(sealed));

  std::vector<v1::EventEnvelope> tampered;
  auto flipped = genuine;  // one character of the ciphertext changed
  std::string& f = *flipped.mutable_contact_logged()->mutable_outcome();
  f[f.size() / 2] = f[f.size() / 2] == 'A' ? 'B' : 'A';
  tampered.push_back(flipped);
  auto truncated = genuine;
  truncated.mutable_contact_logged()->mutable_outcome()->resize(sealed.size() - 4);
  tampered.push_back(truncated);
  auto moved = Sealed(Of(kOttoline, Event(51, "c2")));  // another event's ciphertext
  moved.mutable_contact_logged()->set_outcome(sealed);
  tampered.push_back(moved);
  auto foreign = Of(kBart, Event(52, "c3"));  // sealed under a key the vault never gave
  foreign.mutable_contact_logged()->set_outcome("to Bart");
  privacy::SealEvent(foreign, privacy::RandomKey());
  tampered.push_back(foreign);
  for (const auto& e : tampered) Publish(e);
  ASSERT_TRUE(WaitFor([&] { return p->Stats().consumed == 1 + tampered.size(); }));
  EXPECT_EQ(p->Stats().dead_lettered, tampered.size());
  EXPECT_EQ(p->Stats().projected, 1u);
  EXPECT_EQ(TimelineIds(*p), std::vector<std::string>{"o-reg"});
  EXPECT_EQ(p->GetCustomerContext(kBart.customer).status().code(), absl::StatusCode::kNotFound);

  // Each is parked with the reason.
  auto parked = Consume(domain::kDeadLetterTopic, tampered.size());
  ASSERT_EQ(parked.size(), tampered.size());
  std::multiset<std::string> ids;
  for (const auto& m : parked) {
    v1::EventEnvelope e;
    ASSERT_TRUE(e.ParseFromString(m.value));
    ids.insert(e.event_id());
    std::string reason = m.HeaderValue("deadletter_reason");
    if (e.event_id() == "c3") {
      EXPECT_THAT(reason, HasSubstr("no data key")) << reason;
    } else {
      EXPECT_THAT(reason, HasSubstr("personal field 104.3 of event:" + e.event_id())) << reason;
    }
  }
  EXPECT_EQ(ids, (std::multiset<std::string>{"c1", "c1", "c2", "c3"}));

  // The event as its department wrote it still projects: a parked copy
  // was not recorded as seen.
  Publish(genuine);
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 2; }));
  auto timeline = Timeline(*p, kOttoline.customer);
  EXPECT_THAT(timeline[1].summary(), HasSubstr("promised Ottoline a call back"));
}

TEST_F(JourneyPrivacyTest, ErasureForgetsTheCustomerAndNoOneElse) {
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  const auto ottoline = Sealed(Story(kOttoline, "o"));
  const auto bart = Sealed(Story(kBart, "b"));
  Publish(ottoline);
  Publish(bart);
  ASSERT_TRUE(WaitFor([&] { return p->Stats().projected == ottoline.size() + bart.size(); }));
  auto bart_before = p->Fingerprint({kBart.customer});
  ASSERT_OK(bart_before);

  auto erased = vault_->Erase(kOttoline.customer);
  ASSERT_OK(erased);
  ASSERT_TRUE(erased->erased_now);
  // With the key gone the card reads erased before CustomerErased arrives.
  auto card = p->GetCustomerContext(kOttoline.customer);
  ASSERT_OK(card);
  EXPECT_TRUE(card->erased());
  EXPECT_EQ(card->name(), "");
  for (const auto& q : Queries(kOttoline)) EXPECT_THAT(FoundIds(*p, q), IsEmpty()) << q;

  Publish(Erasure(kOttoline.customer, "x1"));
  ASSERT_TRUE(WaitFor([&] { return p->Stats().erasures == 1; }));
  card = p->GetCustomerContext(kOttoline.customer);
  ASSERT_OK(card);
  EXPECT_TRUE(card->erased());
  EXPECT_EQ(card->name(), "");
  EXPECT_THAT(card->phone_numbers(), IsEmpty());
  EXPECT_THAT(card->emails(), IsEmpty());
  // The facts that are not personal stay: the product, the ticket's
  // category, the balance.
  ASSERT_EQ(card->products_size(), 1);
  EXPECT_EQ(card->products(0).sku(), "BB-500");
  EXPECT_EQ(card->products(0).description(), "");
  ASSERT_EQ(card->open_tickets_size(), 1);
  EXPECT_EQ(card->open_tickets(0).category(), "complaint");
  EXPECT_EQ(card->open_tickets(0).subject(), "");
  EXPECT_EQ(card->billing().balance().amount_minor(), 4999);
  EXPECT_EQ(card->timeline_length(), ottoline.size() + 1);

  auto timeline = Timeline(*p, kOttoline.customer);
  ASSERT_EQ(timeline.size(), ottoline.size() + 1);
  for (const auto& entry : timeline) {
    EXPECT_THAT(entry.summary(), Not(HasSubstr("Ottoline"))) << entry.event_id();
    EXPECT_FALSE(privacy::IsSealed(entry.summary())) << entry.event_id();
  }
  EXPECT_EQ(timeline[1].refs().at("order_id"), "ord_o");
  EXPECT_EQ(timeline[3].summary(), "Invoice issued: 49.99 EUR");
  EXPECT_EQ(timeline[5].kind(), "CustomerErased");
  for (const auto& q : Queries(kOttoline)) EXPECT_THAT(FoundIds(*p, q), IsEmpty()) << q;

  // The export says so, and keeps no personal data either.
  auto exported = p->ExportCustomer(kOttoline.customer);
  ASSERT_OK(exported);
  EXPECT_TRUE(exported->card().erased());
  ASSERT_EQ(exported->events_size(), static_cast<int>(ottoline.size()) + 1);
  EXPECT_EQ(exported->events(0).customer_registered().name(), "");
  EXPECT_THAT(exported->events(0).customer_registered().phone_numbers(),
              ::testing::Each(IsEmpty()));
  EXPECT_EQ(exported->events(0).customer_registered().address().line1(), "");
  EXPECT_EQ(exported->events(3).invoice_issued().total().amount_minor(), 4999);

  // A subscriber resuming from before the erasure reads no personal data.
  v1::SubscribeJourneyRequest sr;
  sr.set_resume_token("0");
  sr.add_customer_ids(kOttoline.customer);
  std::vector<v1::JourneyUpdate> got;
  ASSERT_OK(p->Subscribe(
      sr,
      [&](const v1::JourneyUpdate& u) {
        got.push_back(u);
        return got.size() < ottoline.size() + 1;
      },
      [] { return false; }, 1000));
  ASSERT_EQ(got.size(), ottoline.size() + 1);
  for (const auto& u : got) {
    EXPECT_THAT(u.entry().summary(), Not(HasSubstr("Ottoline")));
    EXPECT_TRUE(u.context().erased());
  }

  // Bart is untouched.
  auto bart_card = p->GetCustomerContext(kBart.customer);
  ASSERT_OK(bart_card);
  EXPECT_FALSE(bart_card->erased());
  EXPECT_EQ(bart_card->name(), kBart.name);
  for (const auto& q : Queries(kBart)) {
    EXPECT_EQ(FoundIds(*p, q), std::vector<std::string>{kBart.customer}) << q;
  }
  EXPECT_EQ(*p->Fingerprint({kBart.customer}), *bart_before);
  EXPECT_EQ(p->Stats().dead_lettered, 0u);

  p->Stop();
  p.reset();
  auto owners = SearchEntries(dir_.path() / "journey");
  EXPECT_EQ(owners.count(kOttoline.customer), 0u);
  EXPECT_GT(owners[kBart.customer], 10u);
  for (const auto& needle : kOttolineNeedles) {
    EXPECT_THAT(FilesContaining(dir_.path() / "journey", needle), IsEmpty()) << needle;
  }
}

// The rebuild runs after the erasure, with the key gone: it reads every
// sealed field of the erased customer as empty. Live, CustomerErased may
// come after the customer's events or (a department's topic lagging)
// before them. Each way, live and rebuild end up with the same store, and
// the same in both runs.
TEST_F(JourneyPrivacyTest, RebuildAfterAnErasureEqualsLiveWhicheverArrivesFirst) {
  // Sealed while the key exists, published in both runs.
  const auto ottoline = Sealed(Story(kOttoline, "o"));
  const auto bart = Sealed(Story(kBart, "b"));
  const auto erasure = Erasure(kOttoline.customer, "x1");
  std::vector<std::string> fingerprints;
  for (bool erasure_first : {false, true}) {
    SCOPED_TRACE(erasure_first ? "CustomerErased first" : "CustomerErased last");
    const auto run = dir_.path() / (erasure_first ? "first" : "last");
    std::filesystem::create_directories(run);
    auto bus = journey_testing::OpenTestBus(run, 3);
    ASSERT_NE(bus, nullptr);
    auto publisher = std::move(*bus->NewPublisher());
    auto live = OpenProjector(bus.get(), run / "live");
    ASSERT_OK(live->Start());
    const uint64_t total = ottoline.size() + bart.size() + 1;
    auto events = [&] {
      for (const auto& e : ottoline) Publish(*publisher, e);
      for (const auto& e : bart) Publish(*publisher, e);
    };
    if (erasure_first) {
      // The vault forgot the key in the first run.
      Publish(*publisher, erasure);
      ASSERT_TRUE(WaitFor([&] { return live->Stats().erasures == 1; }));
      events();
    } else {
      events();
      ASSERT_TRUE(WaitFor([&] { return live->Stats().consumed == total - 1; }));
      ASSERT_OK(vault_->Erase(kOttoline.customer));
      Publish(*publisher, erasure);
    }
    ASSERT_TRUE(WaitFor([&] { return live->Stats().consumed == total; }));
    ASSERT_OK(publisher->Flush(std::chrono::seconds(10)));
    EXPECT_EQ(live->Stats().dead_lettered, 0u);

    auto rebuilt = OpenProjector(bus.get(), run / "rebuild", /*publish=*/false);
    ASSERT_OK(rebuilt->CatchUp(nullptr));
    EXPECT_EQ(rebuilt->Stats().projected, total);
    EXPECT_EQ(rebuilt->Stats().dead_lettered, 0u);  // nothing parked as poison
    auto a = live->Fingerprint({});
    auto b = rebuilt->Fingerprint({});
    ASSERT_OK(a);
    ASSERT_OK(b);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(a->substr(0, 3), std::to_string(total) + ":");
    fingerprints.push_back(*a);

    auto card = rebuilt->GetCustomerContext(kOttoline.customer);
    ASSERT_OK(card);
    EXPECT_TRUE(card->erased());
    EXPECT_EQ(card->name(), "");
    for (const auto& q : Queries(kOttoline)) EXPECT_THAT(FoundIds(*rebuilt, q), IsEmpty()) << q;
    auto bart_card = rebuilt->GetCustomerContext(kBart.customer);
    ASSERT_OK(bart_card);
    EXPECT_EQ(bart_card->name(), kBart.name);
    EXPECT_EQ(FoundIds(*rebuilt, kBart.phone), std::vector<std::string>{kBart.customer});
    live->Stop();
  }
  ASSERT_EQ(fingerprints.size(), 2u);
  EXPECT_EQ(fingerprints[0], fingerprints[1]);
}

// Events from builds before sealing are in the clear on the topics, and a
// journey store written by such a build holds them in the clear: both keep
// working once the journey seals, and an erasure forgets them too.
TEST_F(JourneyPrivacyTest, EventsAndStoresFromBeforeSealingKeepWorking) {
  {
    auto old = OpenProjector("journey", /*publish=*/true, /*sealing=*/false);
    ASSERT_OK(old->Start());
    Publish(journey_testing::Registered(0, "e0"));  // Anna de Vries, in the clear
    ASSERT_TRUE(WaitFor([&] { return TimelineIds(*old).size() == 1; }));
    old->Stop();
  }
  auto p = OpenProjector("journey");
  ASSERT_OK(p->Start());
  Publish(journey_testing::Contact(1, "e1"));  // still in the clear
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 2; }));
  auto card = p->GetCustomerContext(journey_testing::kCustomer);
  ASSERT_OK(card);
  EXPECT_EQ(card->name(), "Anna de Vries");
  // Found through the entries the old build wrote in the clear.
  for (const std::string q : {"+31 6 1234 5678", "06-1234 5678", "ANNA@example.org", "anna d"}) {
    EXPECT_EQ(FoundIds(*p, q), std::vector<std::string>{journey_testing::kCustomer}) << q;
  }
  // Once the customer has a key, the journey seals what it keeps of them.
  Publish(Sealed(journey_testing::Contact(2, "e2")));
  ASSERT_TRUE(WaitFor([&] { return TimelineIds(*p).size() == 3; }));
  card = p->GetCustomerContext(journey_testing::kCustomer);
  ASSERT_OK(card);
  EXPECT_EQ(card->name(), "Anna de Vries");
  EXPECT_EQ(Timeline(*p, journey_testing::kCustomer)[2].summary(),
            "We contacted the customer by unspecified: e2");

  ASSERT_OK(vault_->Erase(journey_testing::kCustomer));
  Publish(Erasure(journey_testing::kCustomer, "x1"));
  ASSERT_TRUE(WaitFor([&] { return p->Stats().erasures == 1; }));
  card = p->GetCustomerContext(journey_testing::kCustomer);
  ASSERT_OK(card);
  EXPECT_TRUE(card->erased());
  EXPECT_EQ(card->name(), "");
  auto timeline = Timeline(*p, journey_testing::kCustomer);
  ASSERT_EQ(timeline.size(), 4u);
  EXPECT_EQ(timeline[0].summary(), "Customer  registered");
  auto exported = p->ExportCustomer(journey_testing::kCustomer);
  ASSERT_OK(exported);
  EXPECT_EQ(exported->events(0).customer_registered().name(), "");
  for (const std::string q : {"+31 6 1234 5678", "06-1234 5678", "ANNA@example.org", "anna d"}) {
    EXPECT_THAT(FoundIds(*p, q), IsEmpty()) << q;
  }
  p->Stop();
  p.reset();
  // The entries in the clear are deleted, not only filtered out.
  EXPECT_EQ(SearchEntries(dir_.path() / "journey").count(journey_testing::kCustomer), 0u);
}

TEST_F(JourneyPrivacyTest, TheExportFaceServesEveryRpcOfItsService) {
  auto p = OpenProjector("journey");
  auto face = NewJourneyExportGrpc(p.get());
  auto* table = dynamic_cast<server::Face*>(face.get());
  ASSERT_NE(table, nullptr);
  EXPECT_OK(table->CheckComplete());
  EXPECT_EQ(table->service_name(), "threadline.v1.JourneyExportService");
}

}  // namespace
}  // namespace threadline::journey
