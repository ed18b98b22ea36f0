#include "threadline/server/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "threadline/testing/testing.h"

namespace threadline::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBillingToken[] = "billing-0123456789abcdef";
constexpr char kSalesToken[] = "sales-0123456789abcdef";

void WriteFile(const std::string& path, const std::string& content) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << content;
  }
  // As an operator should keep a tokens file (the server warns otherwise).
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role r : kAllRoles) {
    auto parsed = ParseRole(RoleName(r));
    ASSERT_TRUE(parsed.has_value()) << RoleName(r);
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_EQ(RoleName(Role::kSupervisor), "supervisor");
  EXPECT_FALSE(ParseRole("Admin").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
}

TEST(ParseTokensTest, ReadsAGoodFile) {
  auto entries = ParseTokens(
      "# Threadline tokens\n"
      "\n"
      "billing-0123456789abcdef  bea     billing\n"
      "   # indented comment\n"
      "sales-0123456789abcdef\tsam\tsales\r\n"
      "super-0123456789abcdef ulla supervisor",  // no final newline
      "tokens.txt");
  ASSERT_OK(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].principal.name, "bea");
  EXPECT_EQ((*entries)[0].principal.role, Role::kBilling);
  EXPECT_EQ((*entries)[0].line, 3);
  EXPECT_EQ((*entries)[1].principal.name, "sam");
  EXPECT_EQ((*entries)[1].principal.role, Role::kSales);
  EXPECT_EQ((*entries)[2].principal.role, Role::kSupervisor);
  EXPECT_EQ((*entries)[2].line, 6);
}

struct BadLine {
  std::string content;
  std::string expected;  // substring of the error
};

TEST(ParseTokensTest, RejectsEachKindOfBadLine) {
  const std::vector<BadLine> cases = {
      {"# ok\nbilling-0123456789abcdef bea\n",
       "tokens.txt:2: expected 'TOKEN PRINCIPAL ROLE', "
       "found 2 fields"},
      {"billing-0123456789abcdef bea billing extra\n",
       "tokens.txt:1: expected 'TOKEN PRINCIPAL "
       "ROLE', found 4 fields"},
      {"billing-0123456789abcdef\n", "found 1 field"},
      {"short bea billing\n",
       "tokens.txt:1: token for principal 'bea' is too short (5 "
       "characters; at least 16"},
      {"billing-0123456789abcdef bea accountant\n",
       "tokens.txt:1: unknown role 'accountant' for principal 'bea'; expected one of sales, "
       "installation, support, billing, supervisor, dashboard, privacy, admin"},
      {"billing-0123456789abcdef bea billing\n\nbilling-0123456789abcdef sam sales\n",
       "tokens.txt:3: duplicate token (first used on line 1)"},
      {"billing-0123456789abcdef bea Billing\n", "unknown role 'Billing'"},
      {"billing-01234567\x01"
       "89abcdef bea billing\n",
       "printable ASCII"},
      {"", "tokens.txt: no tokens"},
      {"# only comments\n\n", "no tokens"},
  };
  for (const auto& c : cases) {
    auto entries = ParseTokens(c.content, "tokens.txt");
    ASSERT_FALSE(entries.ok()) << c.content;
    EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument) << c.content;
    EXPECT_THAT(std::string(entries.status().message()), HasSubstr(c.expected)) << c.content;
    // Errors end up in logs: they must never carry the token.
    EXPECT_THAT(std::string(entries.status().message()), Not(HasSubstr("0123456789abcdef")));
  }
}

TEST(AuthenticatorTest, OpenModeMakesEveryoneAdmin) {
  auto auth = Authenticator::Open();
  EXPECT_TRUE(auth->open());
  auto who = auth->AuthenticateHeader(std::nullopt);
  ASSERT_OK(who);
  EXPECT_EQ(who->name, "anonymous");
  EXPECT_EQ(who->role, Role::kAdmin);
  EXPECT_EQ(auth->Reload().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(AuthenticatorTest, ChecksTheAuthorizationHeader) {
  threadline::testing::TempDir dir;
  std::string path = dir.str() + "/tokens";
  WriteFile(path, std::string(kBillingToken) + " bea billing\n" + kSalesToken + " sam sales\n");
  auto auth = Authenticator::FromFile(path);
  ASSERT_OK(auth);
  EXPECT_FALSE((*auth)->open());
  EXPECT_EQ((*auth)->token_count(), 2u);

  auto who = (*auth)->AuthenticateHeader(std::string("Bearer ") + kBillingToken);
  ASSERT_OK(who);
  EXPECT_EQ(who->name, "bea");
  EXPECT_EQ(who->role, Role::kBilling);
  // The scheme is case-insensitive (RFC 6750).
  who = (*auth)->AuthenticateHeader(std::string("bearer ") + kSalesToken);
  ASSERT_OK(who);
  EXPECT_EQ(who->name, "sam");

  struct Bad {
    std::optional<std::string> header;
    std::string expected;
  };
  const std::vector<Bad> bad = {
      {std::nullopt, "missing credentials"},
      {"", "malformed"},
      {"Bearer", "malformed"},
      {"Bearer   ", "empty token"},
      {std::string("Basic ") + kBillingToken, "malformed"},
      {std::string(kBillingToken), "malformed"},
      {"Bearer not-a-known-token-at-all", "unknown or revoked token"},
      {std::string("Bearer ") + kBillingToken + "x", "unknown or revoked token"},
  };
  for (const auto& b : bad) {
    auto result = (*auth)->AuthenticateHeader(b.header);
    ASSERT_FALSE(result.ok()) << b.header.value_or("<none>");
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(b.expected));
  }
}

TEST(AuthenticatorTest, MissingFileIsNotFound) {
  threadline::testing::TempDir dir;
  auto auth = Authenticator::FromFile(dir.str() + "/nope");
  EXPECT_EQ(auth.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(auth.status().message()), HasSubstr(dir.str() + "/nope"));
}

TEST(AuthenticatorTest, ReloadRotatesTokensAndKeepsThemOnError) {
  threadline::testing::TempDir dir;
  std::string path = dir.str() + "/tokens";
  WriteFile(path, std::string(kBillingToken) + " bea billing\n");
  auto auth = Authenticator::FromFile(path);
  ASSERT_OK(auth);
  const std::string old_header = std::string("Bearer ") + kBillingToken;
  const std::string new_header = std::string("Bearer ") + kSalesToken;
  ASSERT_OK((*auth)->AuthenticateHeader(old_header));

  WriteFile(path, std::string(kSalesToken) + " sam sales\n");
  ASSERT_OK((*auth)->Reload());
  EXPECT_EQ((*auth)->AuthenticateHeader(old_header).status().code(),
            absl::StatusCode::kUnauthenticated);
  ASSERT_OK((*auth)->AuthenticateHeader(new_header));

  WriteFile(path, "garbage\n");
  EXPECT_EQ((*auth)->Reload().code(), absl::StatusCode::kInvalidArgument);
  auto who = (*auth)->AuthenticateHeader(new_header);
  ASSERT_OK(who);
  EXPECT_EQ(who->name, "sam");
}

// A stream opened with a token re-checks it when the tokens are reloaded:
// removed or handed to another principal is UNAUTHENTICATED, a role that
// may no longer call the method is PERMISSION_DENIED, and the verdict
// sticks. A failed reload changes nothing.
TEST(CredentialWatchTest, EndsWhenTheTokenIsRevokedOrItsRoleLosesTheRight) {
  threadline::testing::TempDir dir;
  std::string path = dir.str() + "/tokens";
  const std::string billing = std::string(kBillingToken) + " bea billing\n";
  const std::string sales = std::string(kSalesToken) + " sam sales\n";
  WriteFile(path, billing + sales);
  auto auth = Authenticator::FromFile(path);
  ASSERT_OK(auth);
  auto watch = [&](const char* token, const char* name, Role role) {
    return CredentialWatch(**auth, std::string("Bearer ") + token, Principal{name, role},
                           role == Role::kSales ? "/threadline.v1.SalesService/RegisterCustomer"
                                                : "/threadline.v1.BillingService/GetAccount");
  };
  CredentialWatch bea = watch(kBillingToken, "bea", Role::kBilling);
  CredentialWatch sam = watch(kSalesToken, "sam", Role::kSales);
  ASSERT_OK(bea.Check());
  ASSERT_OK(sam.Check());

  // Unchanged tokens, and then a broken file: both streams go on.
  ASSERT_OK((*auth)->Reload());
  EXPECT_OK(bea.Check());
  WriteFile(path, "garbage\n");
  EXPECT_FALSE((*auth)->Reload().ok());
  EXPECT_OK(bea.Check());

  // Bea's role becomes supervisor, which may still read accounts.
  WriteFile(path, std::string(kBillingToken) + " bea supervisor\n" + sales);
  ASSERT_OK((*auth)->Reload());
  EXPECT_OK(bea.Check());
  // ... and then dashboard, which may not.
  WriteFile(path, std::string(kBillingToken) + " bea dashboard\n" + sales);
  ASSERT_OK((*auth)->Reload());
  absl::Status denied = bea.Check();
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied) << denied;
  EXPECT_THAT(std::string(denied.message()), HasSubstr("dashboard"));
  // Sam's token now names someone else.
  WriteFile(path, std::string(kBillingToken) + " bea billing\n" + kSalesToken + " eve sales\n");
  ASSERT_OK((*auth)->Reload());
  EXPECT_EQ(sam.Check().code(), absl::StatusCode::kUnauthenticated);
  // A verdict sticks, even when the token comes back.
  EXPECT_EQ(bea.Check().code(), absl::StatusCode::kPermissionDenied);

  // A fresh watch on a removed token fails at its first check, whatever
  // generation it was built in.
  CredentialWatch bea2 = watch(kBillingToken, "bea", Role::kBilling);
  ASSERT_OK(bea2.Check());
  WriteFile(path, sales);
  ASSERT_OK((*auth)->Reload());
  absl::Status revoked = bea2.Check();
  EXPECT_EQ(revoked.code(), absl::StatusCode::kUnauthenticated) << revoked;
  EXPECT_THAT(std::string(revoked.message()), HasSubstr("revoked"));
  EXPECT_THAT(std::string(revoked.message()), Not(HasSubstr(kBillingToken)));
  EXPECT_EQ(watch(kBillingToken, "bea", Role::kBilling).Check().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace threadline::server
