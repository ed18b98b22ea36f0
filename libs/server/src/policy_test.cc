// The authorisation matrix, written out by hand: every method of the five
// services against every role. A new RPC, a renamed one or a changed rule
// makes this fail until the table below (and the README) are updated.

#include "threadline/policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "threadline/server/auth.h"
#include "threadline/testing/testing.h"

namespace threadline::server {
namespace {

// Columns: sales, installation, support, billing, supervisor, dashboard,
// privacy, admin, service.
constexpr char kSalesOnly[] = "x......x.";
// Front-line support acts for the customer on the phone, across departments
// (the shipped policy): a contact, an appointment, a goodwill credit.
constexpr char kSalesAndFrontline[] = "x.x....x.";
constexpr char kInstallationAndFrontline[] = ".xx....x.";
constexpr char kCredit[] = "..xxx..x.";
constexpr char kInstallationOnly[] = ".x.....x.";
constexpr char kSupport[] = "..x.x..x.";
constexpr char kBilling[] = "...xx..x.";
constexpr char kEveryone[] = "xxxxxxxx.";
constexpr char kPrivacy[] = "......xx.";
constexpr char kExport[] = "......xxx";
constexpr char kKeys[] = ".......xx";

struct Row {
  const char* method;
  const char* allowed;
};

const Row kMatrix[] = {
    {"/threadline.v1.SalesService/RegisterCustomer", kSalesOnly},
    {"/threadline.v1.SalesService/PlaceOrder", kSalesOnly},
    {"/threadline.v1.SalesService/CancelOrder", kSalesOnly},
    {"/threadline.v1.SalesService/SwitchProduct", kSalesOnly},
    {"/threadline.v1.SalesService/LogContact", kSalesAndFrontline},
    {"/threadline.v1.InstallationService/ProposeAppointment", kInstallationAndFrontline},
    {"/threadline.v1.InstallationService/ConfirmAppointment", kInstallationAndFrontline},
    {"/threadline.v1.InstallationService/DeclineAppointment", kInstallationAndFrontline},
    {"/threadline.v1.InstallationService/AssignTechnician", kInstallationOnly},
    {"/threadline.v1.InstallationService/CompleteInstallation", kInstallationOnly},
    {"/threadline.v1.InstallationService/GetWorkOrder", kInstallationOnly},
    {"/threadline.v1.InstallationService/ListWorkOrders", kInstallationOnly},
    {"/threadline.v1.SupportService/OpenTicket", kSupport},
    {"/threadline.v1.SupportService/RecordMissedCall", kSupport},
    {"/threadline.v1.SupportService/AddInteraction", kSupport},
    {"/threadline.v1.SupportService/AssignTicket", kSupport},
    {"/threadline.v1.SupportService/EscalateTicket", kSupport},
    {"/threadline.v1.SupportService/ResolveTicket", kSupport},
    {"/threadline.v1.SupportService/ReopenTicket", kSupport},
    {"/threadline.v1.SupportService/ScheduleCallback", kSupport},
    {"/threadline.v1.SupportService/CompleteCallback", kSupport},
    {"/threadline.v1.SupportService/GetTicket", kSupport},
    {"/threadline.v1.SupportService/SetTicketWaiting", kSupport},
    {"/threadline.v1.SupportService/ResumeTicket", kSupport},
    {"/threadline.v1.BillingService/IssueInvoice", kBilling},
    {"/threadline.v1.BillingService/RecordPayment", kBilling},
    {"/threadline.v1.BillingService/GrantCredit", kCredit},
    {"/threadline.v1.BillingService/ApproveCredit", kBilling},
    {"/threadline.v1.BillingService/DisputeCharge", kBilling},
    {"/threadline.v1.BillingService/ResolveDispute", kBilling},
    {"/threadline.v1.BillingService/GetAccount", kBilling},
    {"/threadline.v1.JourneyService/GetTimeline", kEveryone},
    {"/threadline.v1.JourneyService/GetCustomerContext", kEveryone},
    {"/threadline.v1.JourneyService/FindCustomer", kEveryone},
    {"/threadline.v1.JourneyService/SubscribeJourney", kEveryone},
    {"/threadline.v1.JourneyExportService/ExportCustomer", kExport},
    {"/threadline.v1.PrivacyService/ExportCustomerData", kPrivacy},
    {"/threadline.v1.PrivacyService/EraseCustomer", kPrivacy},
    {"/threadline.v1.KeyService/GetDataKey", kKeys},
    {"/threadline.v1.KeyService/GetIndexKey", kKeys},
};

TEST(PolicyTest, CoversExactlyTheMethodsOfTheFiveServices) {
  std::vector<std::string> expected;
  for (const auto& row : kMatrix) expected.emplace_back(row.method);
  EXPECT_EQ(AllMethods(), expected)
      << "the services' RPCs changed: decide who may call the new ones and update kMatrix";
}

TEST(PolicyTest, EveryRoleAgainstEveryMethod) {
  ASSERT_EQ(kAllRoles.size(), 9u) << "a role was added: add its column to kMatrix";
  for (const auto& row : kMatrix) {
    for (size_t i = 0; i < kAllRoles.size(); ++i) {
      bool expected = row.allowed[i] == 'x';
      EXPECT_EQ(Allowed(kAllRoles[i], row.method), expected)
          << RoleName(kAllRoles[i]) << " on " << row.method;
    }
  }
}

TEST(PolicyTest, HealthAndReflectionAreOpenEverythingElseIsClosed) {
  for (Role r : kAllRoles) {
    EXPECT_TRUE(Allowed(r, "/grpc.health.v1.Health/Check"));
    EXPECT_TRUE(Allowed(r, "/grpc.health.v1.Health/Watch"));
    EXPECT_TRUE(Allowed(r, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
    EXPECT_TRUE(Allowed(r, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
    // Fail closed, admin included.
    EXPECT_FALSE(Allowed(r, "/threadline.v1.SalesService/DeleteEverything"));
    EXPECT_FALSE(Allowed(r, "/threadline.v2.SalesService/RegisterCustomer"));
    EXPECT_FALSE(Allowed(r, "threadline.v1.SalesService/RegisterCustomer"));
    EXPECT_FALSE(Allowed(r, "/grpc.health.v1.Health/"));
    EXPECT_FALSE(Allowed(r, ""));
  }
}

// An operator's policy file decides who may call what; a file whose
// patterns name no method is refused whole and the table in force stays.
class AccessPolicyTest : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_OK(SetAccessPolicy(policy::Policy::Defaults())); }
  static policy::Policy Parse(std::string_view yaml) {
    auto p = policy::Policy::Parse(yaml, "roles.yaml");
    EXPECT_OK(p);
    return p.ok() ? *std::move(p) : policy::Policy::Defaults();
  }
};

TEST_F(AccessPolicyTest, AnOperatorsRolesReplaceTheShippedOnes) {
  constexpr char kGrant[] = "/threadline.v1.BillingService/GrantCredit";
  constexpr char kOpen[] = "/threadline.v1.SupportService/OpenTicket";
  EXPECT_TRUE(Allowed(Role::kSupport, kGrant));
  ASSERT_OK(SetAccessPolicy(Parse(R"(
roles:
  support:
    may: ["SupportService/*", "JourneyService/GetCustomerContext"]
  dashboard:
    may: ["*"]
)")));
  EXPECT_FALSE(Allowed(Role::kSupport, kGrant));
  EXPECT_TRUE(Allowed(Role::kSupport, kOpen));
  EXPECT_TRUE(Allowed(Role::kSupport, "/threadline.v1.JourneyService/GetCustomerContext"));
  EXPECT_FALSE(Allowed(Role::kSupport, "/threadline.v1.JourneyService/GetTimeline"));
  EXPECT_TRUE(Allowed(Role::kDashboard, "/threadline.v1.KeyService/GetDataKey"));
  // Roles the file does not name keep the shipped rights.
  EXPECT_TRUE(Allowed(Role::kBilling, kGrant));
  EXPECT_TRUE(Allowed(Role::kAdmin, kGrant));

  auto typo = Parse(R"(
roles:
  support:
    may: ["SupportService/*", "BillingService/GrantCredits"]
)");
  absl::Status refused = SetAccessPolicy(typo);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(),
              ::testing::HasSubstr("roles.support.may[1]: 'BillingService/GrantCredits' names no "
                                   "method"));
  EXPECT_EQ(CheckAccessPolicy(typo), refused);
  // The policy in force stays.
  EXPECT_TRUE(Allowed(Role::kSupport, kOpen));
  EXPECT_TRUE(Allowed(Role::kDashboard, "/threadline.v1.KeyService/GetDataKey"));
  EXPECT_OK(CheckAccessPolicy(policy::Policy::Defaults()));
}

TEST(PolicyTest, ReadmeShowsTheCurrentPolicy) {
  std::ifstream in(THREADLINE_SERVER_README);
  ASSERT_TRUE(in) << "cannot read " << THREADLINE_SERVER_README;
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_THAT(ss.str(), ::testing::HasSubstr(PolicyMarkdown()))
      << "libs/server/README.md is out of date; paste this table into it:\n"
      << PolicyMarkdown();
}

}  // namespace
}  // namespace threadline::server
