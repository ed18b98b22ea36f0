// The authorisation matrix through the real binary (label `security`): one
// token per role, every role × every RPC of the five services. A call the
// policy allows may fail for any other reason (the requests here are empty
// and refused as invalid), never with PERMISSION_DENIED or UNAUTHENTICATED;
// a call it denies is PERMISSION_DENIED. The expectation is read from the
// table in libs/server/README.md, the documentation operators follow, and
// cross-checked with server::Allowed.

#include <fstream>
#include <map>
#include <sstream>

#include "security_support.h"
#include "threadline/server/auth.h"

namespace threadline::testing {
namespace {

namespace pb = google::protobuf;
using grpc::StatusCode;

// "SalesService/RegisterCustomer" -> role -> allowed, from the README table
// between the policy markers.
std::map<std::string, std::map<std::string, bool>> ReadmePolicy() {
  std::ifstream in(std::string(SOURCE_DIR) + "/libs/server/README.md");
  std::map<std::string, std::map<std::string, bool>> out;
  std::vector<std::string> roles;
  bool inside = false;
  std::string line;
  auto cells = [](const std::string& row) {
    std::vector<std::string> out;
    std::stringstream ss(row);
    std::string cell;
    std::getline(ss, cell, '|');  // before the first '|'
    while (std::getline(ss, cell, '|')) {
      auto b = cell.find_first_not_of(' ');
      auto e = cell.find_last_not_of(' ');
      out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    }
    return out;
  };
  while (std::getline(in, line)) {
    if (line.find("policy:begin") != std::string::npos) inside = true;
    if (line.find("policy:end") != std::string::npos) break;
    if (!inside || line.rfind("|", 0) != 0) continue;
    auto c = cells(line);
    if (c.empty()) continue;
    if (c[0] == "Method") {
      roles.assign(c.begin() + 1, c.end());
      continue;
    }
    if (c[0].size() < 3 || c[0].front() != '`') continue;
    std::string method = c[0].substr(1, c[0].size() - 2);
    for (size_t i = 0; i < roles.size() && i + 1 < c.size(); ++i) {
      if (!roles[i].empty()) out[method][roles[i]] = c[i + 1] == "✓";
    }
  }
  return out;
}

std::string TokenFor(server::Role role) {
  return "authz-token-" + std::string(server::RoleName(role)) + "-0123456789";
}

// An empty request of the method's type: every command refuses it (no
// request_id) and every query refuses it (no id), so an allowed call
// changes nothing. A journey subscription with a bad resume token is
// refused at once instead of streaming.
std::unique_ptr<pb::Message> EmptyRequest(const std::string& method) {
  const auto* md = FindMethod(method);
  std::unique_ptr<pb::Message> m(
      pb::MessageFactory::generated_factory()->GetPrototype(md->input_type())->New());
  if (md->server_streaming()) {
    m->GetReflection()->SetString(m.get(), md->input_type()->FindFieldByName("resume_token"),
                                  "not-a-token");
  }
  return m;
}

TEST(Authorisation, EveryRoleTimesEveryRpcMatchesTheDocumentedPolicy) {
  TempDir dir;
  const auto tokens = dir.path() / "tokens";
  std::vector<std::pair<std::string, std::string>> entries;
  for (auto role : server::kAllRoles) {
    entries.emplace_back(TokenFor(role), std::string(server::RoleName(role)));
  }
  WriteTokensFile(tokens, entries);
  SuiteProcess suite((dir.path() / "data").string(), {"--tokens-file", tokens.string()},
                     (dir.path() / "suite.log").string());

  const auto readme = ReadmePolicy();
  const auto methods = AllThreadlineMethods();
  ASSERT_EQ(methods.size(), readme.size()) << "the README table and the services disagree";
  int calls = 0;
  for (const auto& method : methods) {
    const std::string shown = method.substr(std::string("/threadline.v1.").size());
    auto row = readme.find(shown);
    ASSERT_NE(row, readme.end()) << shown << " is missing from the README table";
    auto request = EmptyRequest(method);
    for (auto role : server::kAllRoles) {
      const std::string role_name(server::RoleName(role));
      ASSERT_TRUE(row->second.count(role_name)) << shown << ": no column " << role_name;
      const bool documented = row->second.at(role_name);
      ASSERT_EQ(documented, server::Allowed(role, method))
          << shown << " × " << role_name << ": README and server::Allowed disagree";
      grpc::Status s = CallMethod(suite.channel().get(), method, *request, TokenFor(role),
                                  std::chrono::seconds(10));
      ++calls;
      if (documented) {
        EXPECT_NE(s.error_code(), StatusCode::PERMISSION_DENIED)
            << shown << " × " << role_name << " is allowed but was denied: " << s.error_message();
        EXPECT_NE(s.error_code(), StatusCode::UNAUTHENTICATED)
            << shown << " × " << role_name << ": " << s.error_message();
        // The refusal comes from the handler, not from a missing service.
        EXPECT_NE(s.error_code(), StatusCode::UNIMPLEMENTED)
            << shown << " × " << role_name << " is not served: " << s.error_message();
      } else {
        EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED)
            << shown << " × " << role_name << " must be denied; got " << s.error_code() << " "
            << s.error_message();
        if (s.error_code() == StatusCode::PERMISSION_DENIED) {
          // The message names the role and the method, so an operator can
          // tell which token lacks which right.
          EXPECT_NE(s.error_message().find(role_name), std::string::npos) << s.error_message();
          EXPECT_NE(s.error_message().find(shown.substr(shown.find('/') + 1)), std::string::npos)
              << s.error_message();
        }
      }
    }
    // No token, a malformed header and an unknown token: UNAUTHENTICATED
    // for every method.
    for (const std::string token : {"", "short", "unknown-token-000000000000000000"}) {
      grpc::Status s =
          CallMethod(suite.channel().get(), method, *request, token, std::chrono::seconds(10));
      ++calls;
      EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED)
          << shown << " with token '" << token << "': " << s.error_code() << " "
          << s.error_message();
    }
  }
  EXPECT_EQ(calls, static_cast<int>(methods.size() * (server::kAllRoles.size() + 3)));
}

}  // namespace
}  // namespace threadline::testing
