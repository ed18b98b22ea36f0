// The authorisation matrix, written out by hand: every method of the five
// services against every role. A new RPC, a renamed one or a changed rule
// makes this fail until the table below (and the README) are updated.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "threadline/server/auth.h"

namespace threadline::server {
namespace {

// Columns: sales, installation, support, billing, supervisor, dashboard,
// privacy, admin, service.
constexpr char kSalesOnly[] = "x......x.";
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
    {"/threadline.v1.SalesService/LogContact", kSalesOnly},
    {"/threadline.v1.InstallationService/ProposeAppointment", kInstallationOnly},
    {"/threadline.v1.InstallationService/ConfirmAppointment", kInstallationOnly},
    {"/threadline.v1.InstallationService/DeclineAppointment", kInstallationOnly},
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
    {"/threadline.v1.BillingService/IssueInvoice", kBilling},
    {"/threadline.v1.BillingService/RecordPayment", kBilling},
    {"/threadline.v1.BillingService/GrantCredit", kBilling},
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
