// Forgetting a person through the real binary on the embedded bus (label
// e2e): an export holds everything; after an erasure no byte of the
// person's name, phone number, e-mail or street is left in any file of the
// data directory or in the server's log, the card reads as erased, search
// finds nothing, commands are refused, a rebuild equals the live journey,
// and other customers are untouched.

#include <sys/wait.h>

#include "slice_test_body.h"
#include "threadline/v1/privacy.grpc.pb.h"

namespace threadline::testing {
namespace {

// The person to forget: values that occur nowhere else.
constexpr char kName[] = "Zebulon Quillfeather";
constexpr char kPhone[] = "+31 6 4821 7393";
constexpr char kEmail[] = "zebulon.quillfeather@example.org";
constexpr char kStreet[] = "Kerkstraat 1729";
// What must not be found afterwards, compared ignoring case.
const std::vector<std::string> kTraces = {"Quillfeather", "Zebulon", "648217393",
                                          "quillfeather@example", "Kerkstraat"};

class PrivacyE2E : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void Start() {
    suite_ = std::make_unique<SuiteProcess>(
        data_.string(), std::vector<std::string>{},
        (dir_.path() / ("threadline-" + std::to_string(++runs_) + ".log")).string());
  }
  void Stop() {
    suite_->Kill(SIGTERM);
    ASSERT_EQ(suite_->process()->Wait(std::chrono::seconds(30)), 0) << suite_->Log();
    suite_.reset();
  }
  std::string Register(const std::string& request_id, const std::string& name,
                       const std::string& phone, const std::string& email,
                       const std::string& street) {
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
    auto s = suite_->Sales()->RegisterCustomer(Ctx().get(), r, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.customer_id();
  }
  grpc::Status Order(const std::string& request_id, const std::string& customer,
                     const std::string& note) {
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
    return suite_->Sales()->PlaceOrder(Ctx().get(), r, &resp);
  }
  v1::CustomerContext Card(const std::string& customer) {
    v1::GetCustomerContextRequest r;
    r.set_customer_id(customer);
    v1::CustomerContext c;
    (void)suite_->Journey()->GetCustomerContext(Ctx().get(), r, &c);
    return c;
  }
  std::vector<std::string> Found(const std::string& query) {
    v1::FindCustomerRequest r;
    r.set_query(query);
    v1::FindCustomerResponse resp;
    auto s = suite_->Journey()->FindCustomer(Ctx().get(), r, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> ids;
    for (const auto& m : resp.matches()) ids.push_back(m.customer_id());
    return ids;
  }
  std::unique_ptr<v1::PrivacyService::Stub> Privacy() {
    return v1::PrivacyService::NewStub(suite_->channel());
  }

  TempDir dir_;
  std::filesystem::path data_ = dir_.path() / "data";
  std::unique_ptr<SuiteProcess> suite_;
  int runs_ = 0;
};

TEST_F(PrivacyE2E, AnErasedPersonLeavesNoTraceAndEveryoneElseIsUntouched) {
  const std::string before = Register("reg-before", "Griselda Marchbanks", "+31 6 1111 2222",
                                      "griselda@example.org", "Dorpsstraat 5");
  const std::string gone = Register("reg-gone", kName, kPhone, kEmail, kStreet);
  ASSERT_TRUE(Order("ord-gone", gone, "install before Quillfeather's holiday").ok());
  v1::OpenTicketRequest t;
  t.set_request_id("tkt-gone");
  t.set_channel(v1::CHANNEL_PHONE);
  t.set_customer_id(gone);
  t.set_category(v1::TICKET_CATEGORY_FAULT);
  t.set_subject("Mr Quillfeather's router is dead");
  t.set_description("Zebulon called from Kerkstraat 1729");
  t.set_priority(v1::TICKET_PRIORITY_NORMAL);
  v1::OpenTicketResponse tr;
  auto s = suite_->Support()->OpenTicket(Ctx().get(), t, &tr);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string after = Register("reg-after", "Hieronymus Bloemendaal", "+31 6 3333 4444",
                                     "hieronymus@example.org", "Brink 12");
  ASSERT_TRUE(WaitFor([&] { return Card(gone).timeline_length() >= 3; }, std::chrono::seconds(30)));
  ASSERT_TRUE(WaitFor([&] { return !Card(after).name().empty(); }, std::chrono::seconds(30)));

  // The export holds all of it.
  v1::ExportCustomerDataRequest er;
  er.set_customer_id(gone);
  er.set_reason("DSR-2026-114");
  v1::ExportCustomerDataResponse exported;
  s = Privacy()->ExportCustomerData(Ctx().get(), er, &exported);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (const char* want : {kName, "+31648217393", kEmail, kStreet, "router is dead",
                           "Quillfeather's holiday", "FIBRE-1G"}) {
    EXPECT_NE(exported.document().find(want), std::string::npos) << want;
  }

  // Erase, and the journey follows.
  v1::EraseCustomerRequest erase;
  erase.set_request_id("erase-1");
  erase.set_channel(v1::CHANNEL_EMAIL);
  erase.set_customer_id(gone);
  erase.set_reason("DSR-2026-114");
  v1::EraseCustomerResponse erased;
  s = Privacy()->EraseCustomer(Ctx().get(), erase, &erased);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(erased.erased_now());
  ASSERT_TRUE(WaitFor([&] { return Card(gone).erased(); }, std::chrono::seconds(30)));
  Stop();

  // No trace in any file: stores, logs, the bus, the journey, its indexes,
  // the vault, and every log the server wrote.
  for (const auto& trace : kTraces) {
    EXPECT_EQ(FilesContaining(dir_.path(), trace), std::vector<std::filesystem::path>())
        << "'" << trace << "' is still on disk";
  }

  Start();
  v1::CustomerContext card = Card(gone);
  EXPECT_TRUE(card.erased());
  EXPECT_EQ(card.name(), "");
  for (const auto& p : card.phone_numbers()) EXPECT_EQ(p, "");
  for (const auto& e : card.emails()) EXPECT_EQ(e, "");
  EXPECT_EQ(card.DebugString().find("Quillfeather"), std::string::npos) << card.DebugString();
  for (const char* q : {"Quillfeather", "Zebulon", kPhone, kEmail, "06 4821 7393"}) {
    auto found = Found(q);
    EXPECT_EQ(std::find(found.begin(), found.end(), gone), found.end()) << q;
  }
  s = Order("ord-after-erasure", gone, "anything");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("customer erased"), std::string::npos) << s.error_message();

  // Everyone else reads as before.
  EXPECT_EQ(Card(before).name(), "Griselda Marchbanks");
  EXPECT_EQ(Card(after).name(), "Hieronymus Bloemendaal");
  EXPECT_EQ(Found("+31 6 1111 2222"), std::vector<std::string>{before});
  EXPECT_EQ(Found("hieronymus@example.org"), std::vector<std::string>{after});
  EXPECT_EQ(Found("Griselda"), std::vector<std::string>{before});

  // A rebuild from the topics equals the live journey.
  Stop();
  const std::string rebuilt = (dir_.path() / "rebuilt").string();
  RunThreadline({"journey", "rebuild", "--out", rebuilt, "--data-dir", data_.string()},
                (dir_.path() / "rebuild.log").string());
  auto fingerprint = [&](const std::string& path, const std::string& log) {
    return LastLine(
        RunThreadline({"journey", "fingerprint", "--path", path, "--data-dir", data_.string(),
                       "--customer", before, "--customer", gone, "--customer", after},
                      (dir_.path() / log).string()));
  };
  const std::string live = fingerprint((data_ / "journey").string(), "fp-live.log");
  EXPECT_FALSE(live.empty());
  EXPECT_EQ(live, fingerprint(rebuilt, "fp-rebuilt.log"));
}

}  // namespace
}  // namespace threadline::testing
