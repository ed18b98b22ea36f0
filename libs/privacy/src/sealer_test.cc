#include "threadline/privacy/sealer.h"

#include <gtest/gtest.h>

#include "google/protobuf/util/message_differencer.h"
#include "threadline/testing/testing.h"

namespace threadline::privacy {
namespace {

using google::protobuf::util::MessageDifferencer;

v1::EventEnvelope Registered(const std::string& event_id) {
  v1::EventEnvelope e;
  e.set_event_id(event_id);
  e.set_customer_id("cus_1");
  e.set_aggregate_type("customer");
  e.set_aggregate_id("cus_1");
  auto* p = e.mutable_customer_registered();
  p->set_customer_id("cus_1");
  p->set_name("Wilhelmina Quast");
  p->add_phone_numbers("+31612345678");
  p->add_phone_numbers("+31201234567");
  p->add_emails("wilhelmina@example.org");
  p->mutable_address()->set_line1("Prinsengracht 263");
  p->mutable_address()->set_city("Amsterdam");
  p->mutable_address()->set_country("NL");
  return e;
}

TEST(Sealer, PersonalFieldsAreSealedAndOpenAgain) {
  const Key k = RandomKey();
  const v1::EventEnvelope original = Registered("e1");
  v1::EventEnvelope e = original;
  SealEvent(e, k);
  const auto& p = e.customer_registered();
  for (const std::string& v : {p.name(), p.phone_numbers(0), p.phone_numbers(1), p.emails(0),
                               p.address().line1(), p.address().city()}) {
    EXPECT_TRUE(IsSealed(v)) << v;
  }
  // Ids and the country are not personal.
  EXPECT_EQ(p.customer_id(), "cus_1");
  EXPECT_EQ(p.address().country(), "NL");
  const std::string bytes = e.SerializeAsString();
  for (const char* plain :
       {"Wilhelmina", "612345678", "example.org", "Prinsengracht", "Amsterdam"}) {
    EXPECT_EQ(bytes.find(plain), std::string::npos) << plain;
  }
  EXPECT_TRUE(HasSealed(e));
  // Sealing twice changes nothing.
  v1::EventEnvelope again = e;
  SealEvent(again, k);
  EXPECT_TRUE(MessageDifferencer::Equals(again, e));

  ASSERT_OK(OpenEvent(e, &k));
  EXPECT_TRUE(MessageDifferencer::Equals(e, original)) << e.DebugString();
}

TEST(Sealer, AValueMovedToAnotherFieldOrEventDoesNotOpen) {
  const Key k = RandomKey();
  v1::EventEnvelope a = Registered("e1");
  v1::EventEnvelope b = Registered("e2");
  SealEvent(a, k);
  SealEvent(b, k);

  v1::EventEnvelope swapped_fields = a;
  auto* p = swapped_fields.mutable_customer_registered();
  std::string name = p->name();
  p->set_name(p->emails(0));
  p->set_emails(0, name);
  auto s = OpenEvent(swapped_fields, &k);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("personal field 100.2"), std::string::npos) << s;

  v1::EventEnvelope swapped_elements = a;
  p = swapped_elements.mutable_customer_registered();
  std::string first = p->phone_numbers(0);
  p->set_phone_numbers(0, p->phone_numbers(1));
  p->set_phone_numbers(1, first);
  EXPECT_EQ(OpenEvent(swapped_elements, &k).code(), absl::StatusCode::kDataLoss);

  v1::EventEnvelope moved = b;
  moved.mutable_customer_registered()->set_name(a.customer_registered().name());
  s = OpenEvent(moved, &k);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("event:e2"), std::string::npos) << s;
}

TEST(Sealer, WithoutAKeyPersonalFieldsReadAsErased) {
  const Key k = RandomKey();
  v1::EventEnvelope e = Registered("e1");
  SealEvent(e, k);
  ASSERT_OK(OpenEvent(e, nullptr));
  const auto& p = e.customer_registered();
  EXPECT_EQ(p.name(), "");
  EXPECT_EQ(p.phone_numbers_size(), 2);  // how many there were is not personal
  EXPECT_EQ(p.phone_numbers(0), "");
  EXPECT_EQ(p.emails(0), "");
  EXPECT_EQ(p.address().line1(), "");
  EXPECT_EQ(p.address().country(), "NL");
  EXPECT_EQ(e.customer_id(), "cus_1");
  EXPECT_FALSE(HasPersonal(e));
}

TEST(Sealer, EventsFromBeforeSealingReadAsWritten) {
  const Key k = RandomKey();
  v1::EventEnvelope e = Registered("e1");
  const v1::EventEnvelope original = e;
  EXPECT_FALSE(HasSealed(e));
  ASSERT_OK(OpenEvent(e, &k));
  EXPECT_TRUE(MessageDifferencer::Equals(e, original));
  // Erased, they read as erased too.
  ASSERT_OK(OpenEvent(e, nullptr));
  EXPECT_EQ(e.customer_registered().name(), "");
}

TEST(Sealer, NestedAndRepeatedFreeTextIsSealed) {
  const Key k = RandomKey();
  v1::EventEnvelope e;
  e.set_event_id("e9");
  e.set_customer_id("cus_1");
  auto* o = e.mutable_order_placed();
  o->set_order_id("ord_1");
  auto* item = o->add_items();
  item->set_sku("FIBRE-500");
  item->set_description("router for Wilhelmina's attic");
  auto* c = o->add_commitments();
  c->set_commitment_id("com_1");
  c->set_text("install before Wilhelmina's birthday");
  SealEvent(e, k);
  EXPECT_EQ(e.SerializeAsString().find("Wilhelmina"), std::string::npos);
  EXPECT_EQ(e.order_placed().items(0).sku(), "FIBRE-500");
  EXPECT_EQ(e.order_placed().commitments(0).commitment_id(), "com_1");
  ASSERT_OK(OpenEvent(e, &k));
  EXPECT_EQ(e.order_placed().commitments(0).text(), "install before Wilhelmina's birthday");
}

TEST(Sealer, SubjectIsTheCustomerOrTheStream) {
  v1::EventEnvelope e;
  e.set_customer_id("cus_7");
  EXPECT_EQ(SubjectOf(e), "cus_7");
  e.clear_customer_id();
  e.set_aggregate_type("callback");
  e.set_aggregate_id("cb_1");
  EXPECT_EQ(SubjectOf(e), "stream:callback-cb_1");
}

}  // namespace
}  // namespace threadline::privacy
