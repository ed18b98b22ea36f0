#include "threadline/server/handler.h"

#include <exception>

#include "active_server.h"
#include "threadline/common/log.h"

namespace threadline::server {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("server");
  return *log;
}

// Failed authentication can come in floods (a misconfigured client, a
// scanner): log it, but not every time.
LogEvery& AuthFailureLogLimit() {
  static auto* limit = new LogEvery(std::chrono::seconds(10));
  return *limit;
}
LogEvery& DeniedLogLimit() {
  static auto* limit = new LogEvery(std::chrono::seconds(10));
  return *limit;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::Status CallHandler::Handle(grpc::ServerContextBase* ctx, std::string_view method,
                                 const HandlerBody& body) const {
  auto start = std::chrono::steady_clock::now();
  grpc::Status result = Run(ctx, method, body);
  stats_->Record(method, static_cast<int>(result.error_code()),
                 std::chrono::steady_clock::now() - start);
  return result;
}

void CallHandler::Record(std::string_view method, int code,
                         std::chrono::nanoseconds latency) const {
  stats_->Record(method, code, latency);
}

absl::StatusOr<Principal> CallHandler::Authorize(const grpc::ServerContextBase& ctx,
                                                 std::string_view method) const {
  absl::StatusOr<Principal> principal = auth_->Authenticate(ctx);
  if (!principal.ok()) {
    if (AuthFailureLogLimit().Allow()) {
      Log().Warn("call rejected: not authenticated",
                 {{"method", method},
                  {"peer", ctx.peer()},
                  {"reason", std::string(principal.status().message())}});
    }
    return principal.status();
  }
  if (!Allowed(principal->role, method)) {
    if (DeniedLogLimit().Allow()) {
      Log().Warn("call rejected: not authorised", {{"method", method},
                                                   {"principal", principal->name},
                                                   {"role", RoleName(principal->role)}});
    }
    return absl::PermissionDeniedError("role '" + std::string(RoleName(principal->role)) +
                                       "' (principal '" + principal->name + "') may not call " +
                                       std::string(method));
  }
  return principal;
}

grpc::Status CallHandler::Run(grpc::ServerContextBase* ctx, std::string_view method,
                              const HandlerBody& body) const {
  try {
    if (ctx == nullptr) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "handler called without a server context");
    }
    absl::StatusOr<Principal> principal = Authorize(*ctx, method);
    if (!principal.ok()) return ToGrpcStatus(principal.status());
    return ToGrpcStatus(body(*principal));
  } catch (const std::exception& e) {
    Log().Error("handler threw", {{"method", method}, {"what", e.what()}});
  } catch (...) {
    Log().Error("handler threw a non-standard exception", {{"method", method}});
  }
  // The exception's text stays in the log: it may say more than a client
  // should see.
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "internal error in " + std::string(method) + "; the server log has details");
}

CredentialWatch CallHandler::Watch(const grpc::ServerContextBase& ctx, std::string_view method,
                                   const Principal& who) const {
  std::optional<std::string> authorization;
  const auto& md = ctx.client_metadata();
  auto [first, last] = md.equal_range("authorization");
  if (first != last) {
    // More than one header was refused before the stream began; kept
    // malformed so it could never pass a re-check either.
    authorization = std::next(first) == last
                        ? std::string(first->second.data(), first->second.size())
                        : std::string();
  }
  return CredentialWatch(*auth_, std::move(authorization), who, std::string(method));
}

grpc::Status Handle(grpc::ServerContextBase* ctx, std::string_view method,
                    const HandlerBody& body) {
  const CallHandler* handler = ActiveHandler();
  if (handler == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "no threadline GrpcServer is running in this process; serve the service "
                        "through server::GrpcServer::Start");
  }
  return handler->Handle(ctx, method, body);
}

}  // namespace threadline::server
