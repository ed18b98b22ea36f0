#pragma once

// Who is calling and what they may call: bearer tokens from a tokens file,
// roles, and the authorisation policy (one table, built from the services'
// descriptors so a new RPC cannot be left out silently).

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace threadline::policy {
class Policy;
}

namespace threadline::server {

// A caller's role. Department roles call their own service; supervisors
// handle support and billing (including credits above an agent's limit);
// dashboards only read the journey; the privacy role (a data-protection
// officer) exports and erases customers' data; admin calls everything.
enum class Role : uint8_t {
  kSales,
  kInstallation,
  kSupport,
  kBilling,
  kSupervisor,
  kDashboard,
  kPrivacy,  // data-subject requests: exports and erasures
  kAdmin,
  kService,  // a process of the deployment: data keys, the journey's export
};

inline constexpr std::array<Role, 9> kAllRoles = {
    Role::kSales,     Role::kInstallation, Role::kSupport, Role::kBilling, Role::kSupervisor,
    Role::kDashboard, Role::kPrivacy,      Role::kAdmin,   Role::kService,
};

// The spelling used in tokens files and on recorded events, from
// threadline/domain/roles.h: "sales", "installation", ..., "admin".
std::string_view RoleName(Role role);
// The role spelled `name` (exact, lowercase), or nullopt.
std::optional<Role> ParseRole(std::string_view name);

// An authenticated caller.
struct Principal {
  std::string name;
  // Least privilege by default, so a Principal built by mistake opens little.
  Role role = Role::kDashboard;
};

// ---------------------------------------------------------------------------
// Authorisation policy. Process-wide: the roles of the shipped policy until
// SetAccessPolicy installs an operator's (at start and on SIGHUP).

// Every method of the five Threadline services as full gRPC names
// ("/threadline.v1.SalesService/RegisterCustomer"), in proto order.
std::vector<std::string> AllMethods();

// True if `role` may call `method` (a full gRPC method name). Methods outside
// the table are denied to every role, admin included (fail closed), except
// the open health and reflection services.
bool Allowed(Role role, std::string_view method);

// Makes the roles of `policy` (policy::Policy::roles(): "SupportService/*",
// "BillingService/GrantCredit", "*") the authorisation policy of this
// process, atomically: a call is checked against the old table or the new,
// never a mix. INVALID_ARGUMENT naming the role and the pattern when a
// pattern names no method; then the policy in force stays.
[[nodiscard]] absl::Status SetAccessPolicy(const policy::Policy& policy);
// The same check, without installing anything (`threadline policy check`).
[[nodiscard]] absl::Status CheckAccessPolicy(const policy::Policy& policy);

// True for grpc.health.v1.Health and the reflection service: open so probes
// and grpcurl work without a token.
bool IsOpenMethod(std::string_view method);

// The policy as a Markdown table (method × role), for docs; the README holds
// a copy that a test keeps equal.
std::string PolicyMarkdown();

// ---------------------------------------------------------------------------
// Tokens.

// Minimum token length: shorter tokens are guessable.
inline constexpr size_t kMinTokenLength = 16;

// One line of a tokens file. Only a digest of the token is kept in memory.
struct TokenEntry {
  Principal principal;
  std::array<uint8_t, 32> digest{};  // SHA-256 of the token
  int line = 0;
};

// Parses a tokens file's content: one "TOKEN PRINCIPAL ROLE" per line,
// separated by spaces or tabs; blank lines and lines starting with '#' are
// ignored. Errors are INVALID_ARGUMENT naming `source`, the line and what is
// wrong (never the token itself). An empty table is an error.
[[nodiscard]] absl::StatusOr<std::vector<TokenEntry>> ParseTokens(std::string_view content,
                                                                  std::string_view source);

// Turns a request's "authorization: Bearer TOKEN" metadata into a Principal.
// Created open (everyone is "anonymous" with role admin) or from a tokens
// file that Reload() re-reads, so tokens rotate without a restart.
// Thread-safe: Authenticate and Reload may run concurrently; a failed Reload
// keeps the previous tokens.
class Authenticator {
 public:
  // Open mode: no tokens, every caller is admin. Only for loopback use.
  static std::unique_ptr<Authenticator> Open();
  // Reads `path` (see ParseTokens). NOT_FOUND if it cannot be read.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Authenticator>> FromFile(std::string path);

  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  bool open() const { return path_.empty(); }
  // The tokens file; empty in open mode.
  const std::string& path() const { return path_; }
  // Number of tokens currently loaded (0 in open mode).
  size_t token_count() const;

  // Reads the "authorization" metadata of `ctx` (a grpc::ServerContext or
  // CallbackServerContext). UNAUTHENTICATED, with a message saying what to
  // send, when missing, malformed or unknown.
  [[nodiscard]] absl::StatusOr<Principal> Authenticate(const grpc::ServerContextBase& ctx) const;

  // The same from the header value alone (nullopt: no header; more than one
  // header should be passed as malformed by the caller). Tokens are compared
  // in constant time over their SHA-256 digests.
  [[nodiscard]] absl::StatusOr<Principal> AuthenticateHeader(
      std::optional<std::string_view> authorization) const;

  // Re-reads the tokens file and swaps the tokens in atomically. On error the
  // old tokens stay in force. FAILED_PRECONDITION in open mode.
  [[nodiscard]] absl::Status Reload();

  // Counts the Reloads that swapped tokens in. An open stream compares it
  // with the value it last saw to know when to re-check its credentials
  // (CredentialWatch).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  using Table = std::vector<TokenEntry>;
  Authenticator(std::string path, std::shared_ptr<const Table> table);
  std::shared_ptr<const Table> table() const;

  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const Table> table_;  // guarded by mu_; null in open mode
  std::atomic<uint64_t> generation_{0};
};

// Who may call what, as server::Allowed; a parameter so tests can narrow it.
using AllowedFn = std::function<bool(Role, std::string_view method)>;

// The credentials an open stream was authorised with, held for as long as
// it runs so that revoking a token ends the streams opened with it. Check()
// re-authenticates the stream's authorization header whenever the tokens
// were reloaded since it last looked, and otherwise costs one atomic load,
// so a stream may call it before every write and at every wake-up. Once it
// fails it keeps failing. Not thread-safe: one per stream, used by one
// thread at a time (the stream's, or whichever stream thread pulls its next
// message). The Authenticator must outlive it.
class CredentialWatch {
 public:
  // `authorization` is the header the call authenticated with (nullopt: it
  // sent none, as in open mode); `principal` who it authenticated as.
  CredentialWatch(const Authenticator& auth, std::optional<std::string> authorization,
                  Principal principal, std::string method, AllowedFn allowed = &Allowed);

  // OK while the token still names the stream's principal and its role may
  // still call the method. UNAUTHENTICATED when the token was removed or now
  // names another principal; PERMISSION_DENIED when the principal's new role
  // may not call the method.
  [[nodiscard]] absl::Status Check();

 private:
  const Authenticator& auth_;
  std::optional<std::string> authorization_;
  Principal principal_;
  std::string method_;
  AllowedFn allowed_;
  std::optional<uint64_t> seen_;  // the generation last checked; none yet
  absl::Status verdict_;
};

}  // namespace threadline::server
