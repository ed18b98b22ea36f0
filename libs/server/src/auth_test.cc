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
       "installation, support, billing, supervisor, dashboard, admin"},
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

}  // namespace
}  // namespace threadline::server
