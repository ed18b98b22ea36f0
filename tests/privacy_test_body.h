#pragma once

// Forgetting a person, the same story on every deployment: a customer with
// a distinctive name, phone number, e-mail and street, an order and a
// ticket that mention them, and one customer registered before and one
// after. privacy_e2e_test runs it in one process on the embedded bus,
// privacy_kafkatest with each service in its own process on Kafka.

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "slice_test_body.h"
#include "threadline/v1/privacy.grpc.pb.h"

namespace threadline::testing {

// The person to forget: values that occur nowhere else.
inline constexpr char kForgottenName[] = "Zebulon Quillfeather";
inline constexpr char kForgottenPhone[] = "+31 6 4821 7393";
inline constexpr char kForgottenEmail[] = "zebulon.quillfeather@example.org";
inline constexpr char kForgottenStreet[] = "Kerkstraat 1729";
// What must not be found afterwards, compared ignoring case.
inline const std::vector<std::string> kForgottenTraces = {"Quillfeather", "Zebulon", "648217393",
                                                          "quillfeather@example", "Kerkstraat"};

// Where each part of the story is served; one process may serve several.
struct PrivacyStoryTargets {
  SuiteProcess* sales;
  SuiteProcess* support;
  SuiteProcess* journey;
  SuiteProcess* privacy;
};

inline std::string RegisterPerson(SuiteProcess& sales, const std::string& request_id,
                                  const std::string& name, const std::string& phone,
                                  const std::string& email, const std::string& street) {
  v1::RegisterCustomerRequest r;
  r.set_request_id(request_id);
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_name(name);
  r.add_phone_numbers(phone);
  r.add_emails(email);
  r.mutable_address()->set_line1(street);
  r.mutable_address()->set_postal_code("8011 AB");
  r.mutable_address()->set_city("Zwolle");
  r.mutable_address()->set_country("NL");
  r.set_preferred_channel(v1::CHANNEL_EMAIL);
  v1::RegisterCustomerResponse resp;
  auto s = sales.Sales()->RegisterCustomer(Ctx().get(), r, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.customer_id();
}

inline grpc::Status PlaceOrderFor(SuiteProcess& sales, const std::string& request_id,
                                  const std::string& customer, const std::string& note) {
  v1::PlaceOrderRequest r;
  r.set_request_id(request_id);
  r.set_channel(v1::CHANNEL_PHONE);
  r.set_customer_id(customer);
  auto* item = r.add_items();
  item->set_sku("FIBRE-1G");
  item->set_description("Fibre 1 Gbit/s");
  *item->mutable_one_off_price() = Eur(4900);
  *item->mutable_monthly_price() = Eur(5500);
  auto* c = r.add_commitments();
  c->set_text(note);
  c->set_owner(v1::DEPARTMENT_INSTALLATION);
  *c->mutable_due_by() = FromNow(std::chrono::hours(24 * 14));
  v1::PlaceOrderResponse resp;
  return sales.Sales()->PlaceOrder(Ctx().get(), r, &resp);
}

inline grpc::Status OpenTicketFor(SuiteProcess& support, const std::string& request_id,
                                  const std::string& customer, const std::string& subject,
                                  const std::string& description,
                                  std::string* ticket_id = nullptr) {
  v1::OpenTicketRequest t;
  t.set_request_id(request_id);
  t.set_channel(v1::CHANNEL_PHONE);
  t.set_customer_id(customer);
  t.set_category(v1::TICKET_CATEGORY_FAULT);
  t.set_subject(subject);
  t.set_description(description);
  t.set_priority(v1::TICKET_PRIORITY_NORMAL);
  v1::OpenTicketResponse tr;
  auto s = support.Support()->OpenTicket(Ctx().get(), t, &tr);
  if (ticket_id != nullptr) *ticket_id = tr.ticket_id();
  return s;
}

inline v1::CustomerContext CardOf(SuiteProcess& journey, const std::string& customer) {
  v1::GetCustomerContextRequest r;
  r.set_customer_id(customer);
  v1::CustomerContext c;
  (void)journey.Journey()->GetCustomerContext(Ctx().get(), r, &c);
  return c;
}

inline std::vector<std::string> FoundBy(SuiteProcess& journey, const std::string& query) {
  v1::FindCustomerRequest r;
  r.set_query(query);
  v1::FindCustomerResponse resp;
  auto s = journey.Journey()->FindCustomer(Ctx().get(), r, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> ids;
  for (const auto& m : resp.matches()) ids.push_back(m.customer_id());
  return ids;
}

inline std::unique_ptr<v1::PrivacyService::Stub> PrivacyOf(SuiteProcess& p) {
  return v1::PrivacyService::NewStub(p.channel());
}

// The story's customers.
struct PrivacyStory {
  std::string before, gone, after;
  std::string ticket;  // the gone customer's
};

// Registers the three customers, the order and the ticket, and waits until
// the journey shows them.
inline PrivacyStory SeedPrivacyStory(const PrivacyStoryTargets& t) {
  PrivacyStory s;
  s.before = RegisterPerson(*t.sales, "reg-before", "Griselda Marchbanks", "+31 6 1111 2222",
                            "griselda@example.org", "Dorpsstraat 5");
  s.gone = RegisterPerson(*t.sales, "reg-gone", kForgottenName, kForgottenPhone, kForgottenEmail,
                          kForgottenStreet);
  auto st = PlaceOrderFor(*t.sales, "ord-gone", s.gone, "install before Quillfeather's holiday");
  EXPECT_TRUE(st.ok()) << st.error_message();
  st = OpenTicketFor(*t.support, "tkt-gone", s.gone, "Mr Quillfeather's router is dead",
                     "Zebulon called from Kerkstraat 1729", &s.ticket);
  EXPECT_TRUE(st.ok()) << st.error_message();
  s.after = RegisterPerson(*t.sales, "reg-after", "Hieronymus Bloemendaal", "+31 6 3333 4444",
                           "hieronymus@example.org", "Brink 12");
  EXPECT_TRUE(WaitFor([&] { return CardOf(*t.journey, s.gone).timeline_length() >= 3; },
                      std::chrono::seconds(60)))
      << CardOf(*t.journey, s.gone).DebugString();
  EXPECT_TRUE(WaitFor([&] { return !CardOf(*t.journey, s.after).name().empty(); },
                      std::chrono::seconds(60)));
  return s;
}

// The export holds all of it; then the erasure, until the journey shows it.
inline void ExportThenErase(const PrivacyStoryTargets& t, const PrivacyStory& s) {
  v1::ExportCustomerDataRequest er;
  er.set_customer_id(s.gone);
  er.set_reason("DSR-2026-114");
  v1::ExportCustomerDataResponse exported;
  auto st = PrivacyOf(*t.privacy)->ExportCustomerData(Ctx().get(), er, &exported);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (const char* want : {kForgottenName, "+31648217393", kForgottenEmail, kForgottenStreet,
                           "router is dead", "Quillfeather's holiday", "FIBRE-1G"}) {
    EXPECT_NE(exported.document().find(want), std::string::npos) << want;
  }

  v1::EraseCustomerRequest erase;
  erase.set_request_id("erase-1");
  erase.set_channel(v1::CHANNEL_EMAIL);
  erase.set_customer_id(s.gone);
  erase.set_reason("DSR-2026-114");
  v1::EraseCustomerResponse erased;
  st = PrivacyOf(*t.privacy)->EraseCustomer(Ctx().get(), erase, &erased);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(erased.erased_now());
  ASSERT_TRUE(
      WaitFor([&] { return CardOf(*t.journey, s.gone).erased(); }, std::chrono::seconds(60)));
}

// The person is gone from the card and from search, commands for them are
// refused, and everyone else reads as before.
inline void ExpectForgotten(const PrivacyStoryTargets& t, const PrivacyStory& s) {
  v1::CustomerContext card = CardOf(*t.journey, s.gone);
  EXPECT_TRUE(card.erased());
  EXPECT_EQ(card.name(), "");
  for (const auto& p : card.phone_numbers()) EXPECT_EQ(p, "");
  for (const auto& e : card.emails()) EXPECT_EQ(e, "");
  EXPECT_EQ(card.DebugString().find("Quillfeather"), std::string::npos) << card.DebugString();
  for (const char* q :
       {"Quillfeather", "Zebulon", kForgottenPhone, kForgottenEmail, "06 4821 7393"}) {
    auto found = FoundBy(*t.journey, q);
    EXPECT_EQ(std::find(found.begin(), found.end(), s.gone), found.end()) << q;
  }
  auto st = PlaceOrderFor(*t.sales, "ord-after-erasure", s.gone, "anything");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find("customer erased"), std::string::npos) << st.error_message();

  EXPECT_EQ(CardOf(*t.journey, s.before).name(), "Griselda Marchbanks");
  EXPECT_EQ(CardOf(*t.journey, s.after).name(), "Hieronymus Bloemendaal");
  EXPECT_EQ(FoundBy(*t.journey, "+31 6 1111 2222"), std::vector<std::string>{s.before});
  EXPECT_EQ(FoundBy(*t.journey, "hieronymus@example.org"), std::vector<std::string>{s.after});
  EXPECT_EQ(FoundBy(*t.journey, "Griselda"), std::vector<std::string>{s.before});
}

// No trace of the person in any file under `root`.
inline void ExpectNoTraceUnder(const std::filesystem::path& root) {
  for (const auto& trace : kForgottenTraces) {
    EXPECT_EQ(FilesContaining(root, trace), std::vector<std::filesystem::path>())
        << "'" << trace << "' is still on disk under " << root;
  }
}

}  // namespace threadline::testing
