#include "threadline/server/auth.h"

#include <grpcpp/server_context.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/domain/roles.h"

namespace threadline::server {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("server");
  return *log;
}

// In the order of Role.
constexpr std::array<std::string_view, kAllRoles.size()> kRoleNames = {
    domain::kRoleSales,   domain::kRoleInstallation, domain::kRoleSupport,
    domain::kRoleBilling, domain::kRoleSupervisor,   domain::kRoleDashboard,
    domain::kRolePrivacy, domain::kRoleAdmin,        domain::kRoleService,
};

std::string RoleList() {
  std::string out;
  for (auto name : kRoleNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::array<uint8_t, 32> Sha256(std::string_view data) {
  std::array<uint8_t, 32> digest{};
  unsigned int len = 0;
  // EVP_Digest cannot fail for SHA-256 on in-memory data short of memory
  // exhaustion; a zero digest then simply matches no token.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
    digest.fill(0);
  }
  return digest;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// Tokens travel in an HTTP/2 header: printable ASCII only.
bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError("cannot read tokens file " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WarnIfReadableByOthers(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    Log().Warn("tokens file is readable by group or others; chmod 600 it", {{"path", path}});
  }
}

}  // namespace

std::string_view RoleName(Role role) {
  auto i = static_cast<size_t>(role);
  return i < kRoleNames.size() ? kRoleNames[i] : std::string_view("unknown");
}

std::optional<Role> ParseRole(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (kRoleNames[i] == name) return kAllRoles[i];
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<TokenEntry>> ParseTokens(std::string_view content,
                                                    std::string_view source) {
  std::vector<TokenEntry> entries;
  std::map<std::array<uint8_t, 32>, int> first_line;
  auto error = [&](int line, const std::string& what) {
    return absl::InvalidArgumentError(std::string(source) + ":" + std::to_string(line) + ": " +
                                      what);
  };
  int line_no = 0;
  size_t pos = 0;
  while (pos <= content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;

    auto fields = SplitFields(line);
    if (fields.empty() || fields[0].front() == '#') continue;
    if (fields.size() != 3) {
      return error(line_no, "expected 'TOKEN PRINCIPAL ROLE', found " +
                                std::to_string(fields.size()) + " field" +
                                (fields.size() == 1 ? "" : "s"));
    }
    std::string_view token = fields[0], name = fields[1], role_name = fields[2];
    if (token.size() < kMinTokenLength) {
      return error(line_no, "token for principal '" + std::string(name) + "' is too short (" +
                                std::to_string(token.size()) + " characters; at least " +
                                std::to_string(kMinTokenLength) +
                                " random ones, e.g. from `openssl rand -hex 24`)");
    }
    if (!IsPrintableAscii(token)) {
      return error(line_no, "token for principal '" + std::string(name) +
                                "' has characters other than printable ASCII");
    }
    auto role = ParseRole(role_name);
    if (!role) {
      return error(line_no, "unknown role '" + std::string(role_name) + "' for principal '" +
                                std::string(name) + "'; expected one of " + RoleList());
    }
    TokenEntry entry;
    entry.principal = Principal{std::string(name), *role};
    entry.digest = Sha256(token);
    entry.line = line_no;
    auto [it, inserted] = first_line.emplace(entry.digest, line_no);
    if (!inserted) {
      return error(line_no, "duplicate token (first used on line " + std::to_string(it->second) +
                                "); every principal needs its own token");
    }
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError(std::string(source) +
                                      ": no tokens; add lines 'TOKEN PRINCIPAL ROLE'");
  }
  return entries;
}

Authenticator::Authenticator(std::string path, std::shared_ptr<const Table> table)
    : path_(std::move(path)), table_(std::move(table)) {}

std::unique_ptr<Authenticator> Authenticator::Open() {
  return std::unique_ptr<Authenticator>(new Authenticator("", nullptr));
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromFile(std::string path) {
  if (path.empty()) return absl::InvalidArgumentError("tokens file path is empty");
  ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  ASSIGN_OR_RETURN(auto entries, ParseTokens(content, path));
  WarnIfReadableByOthers(path);
  return std::unique_ptr<Authenticator>(
      new Authenticator(std::move(path), std::make_shared<const Table>(std::move(entries))));
}

std::shared_ptr<const Authenticator::Table> Authenticator::table() const {
  std::lock_guard lock(mu_);
  return table_;
}

size_t Authenticator::token_count() const {
  auto t = table();
  return t ? t->size() : 0;
}

absl::Status Authenticator::Reload() {
  if (open()) {
    return absl::FailedPreconditionError("no tokens file to reload: the server runs open");
  }
  ASSIGN_OR_RETURN(std::string content, ReadFile(path_));
  ASSIGN_OR_RETURN(auto entries, ParseTokens(content, path_));
  WarnIfReadableByOthers(path_);
  auto fresh = std::make_shared<const Table>(std::move(entries));
  std::lock_guard lock(mu_);
  table_ = std::move(fresh);
  // After the swap: a stream that sees the new generation also sees the new
  // table.
  generation_.fetch_add(1, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<Principal> Authenticator::Authenticate(const grpc::ServerContextBase& ctx) const {
  if (open()) return Principal{"anonymous", Role::kAdmin};
  const auto& md = ctx.client_metadata();
  auto [first, last] = md.equal_range("authorization");
  if (first == last) return AuthenticateHeader(std::nullopt);
  if (std::next(first) != last) {
    return absl::UnauthenticatedError(
        "more than one authorization header; send exactly one 'authorization: Bearer <token>'");
  }
  return AuthenticateHeader(std::string_view(first->second.data(), first->second.size()));
}

absl::StatusOr<Principal> Authenticator::AuthenticateHeader(
    std::optional<std::string_view> authorization) const {
  if (open()) return Principal{"anonymous", Role::kAdmin};
  if (!authorization) {
    return absl::UnauthenticatedError(
        "missing credentials: send metadata 'authorization: Bearer <token>'");
  }
  std::string_view value = *authorization;
  constexpr std::string_view kScheme = "Bearer ";
  // RFC 6750: the scheme is case-insensitive.
  if (value.size() <= kScheme.size() ||
      !EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError("malformed authorization header: expected 'Bearer <token>'");
  }
  std::string_view token = value.substr(kScheme.size());
  while (!token.empty() && IsBlank(token.front())) token.remove_prefix(1);
  while (!token.empty() && IsBlank(token.back())) token.remove_suffix(1);
  if (token.empty()) {
    return absl::UnauthenticatedError("malformed authorization header: empty token after 'Bearer'");
  }
  auto digest = Sha256(token);
  auto t = table();
  // Every entry is compared, in constant time, so the time taken says
  // nothing about how close a guess came.
  const TokenEntry* match = nullptr;
  for (const auto& entry : *t) {
    bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal && match == nullptr) match = &entry;
  }
  if (match == nullptr) {
    return absl::UnauthenticatedError("unknown or revoked token");
  }
  return match->principal;
}

CredentialWatch::CredentialWatch(const Authenticator& auth,
                                 std::optional<std::string> authorization, Principal principal,
                                 std::string method, AllowedFn allowed)
    : auth_(auth),
      authorization_(std::move(authorization)),
      principal_(std::move(principal)),
      method_(std::move(method)),
      allowed_(std::move(allowed)) {}

absl::Status CredentialWatch::Check() {
  if (!verdict_.ok()) return verdict_;
  // The first Check always looks: a reload may have come between the call's
  // authentication and this watch.
  const uint64_t generation = auth_.generation();
  if (seen_ == generation) return verdict_;
  seen_ = generation;
  auto now = auth_.AuthenticateHeader(authorization_);
  if (!now.ok()) {
    verdict_ = absl::UnauthenticatedError("the token of principal '" + principal_.name +
                                          "' was revoked while this stream was open");
  } else if (now->name != principal_.name) {
    verdict_ = absl::UnauthenticatedError(
        "the token this stream was opened with no longer belongs to principal '" + principal_.name +
        "'");
  } else if (!allowed_(now->role, method_)) {
    verdict_ = absl::PermissionDeniedError("role '" + std::string(RoleName(now->role)) +
                                           "' (principal '" + now->name + "') may not call " +
                                           method_ + " under the reloaded tokens file");
  } else {
    principal_.role = now->role;
  }
  return verdict_;
}

}  // namespace threadline::server
