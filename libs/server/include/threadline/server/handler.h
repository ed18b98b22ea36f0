#pragma once

// The one way a gRPC handler runs: authenticate, authorise, run the body,
// convert its absl::Status, never let an exception out, record stats.
// Services do not call it themselves: their faces (face.h) do, per RPC.

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/server/auth.h"
#include "threadline/server/stats.h"

// The full gRPC name of `method` of threadline.v1.`service`, checked at
// compile time: a misspelt service or method does not compile. Needs the
// service's generated header (threadline/v1/<dept>.grpc.pb.h) in scope.
#define TL_GRPC_METHOD(service, method)                                    \
  (static_cast<void>(sizeof(&::threadline::v1::service::Service::method)), \
   "/threadline.v1." #service "/" #method)

namespace threadline::server {

class Streams;

using HandlerBody = std::function<absl::Status(const Principal&)>;

// Same code, same message. absl and gRPC share the numeric codes.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Runs handlers against one Authenticator, one ServerStats and the server's
// open streams (all borrowed; they must outlive it). Thread-safe; GrpcServer
// owns one.
class CallHandler {
 public:
  CallHandler(const Authenticator* auth, ServerStats* stats, Streams* streams)
      : auth_(auth), stats_(stats), streams_(streams) {}

  // `method` must be the full gRPC method name (use TL_GRPC_METHOD).
  // UNAUTHENTICATED without a valid token; PERMISSION_DENIED naming the role
  // and method when the policy says no; INTERNAL (logged) if `body` throws.
  // For a server-streaming method the recorded latency is the stream's life.
  grpc::Status Handle(grpc::ServerContextBase* ctx, std::string_view method,
                      const HandlerBody& body) const;

  // A watch on the credentials `ctx` authenticated with as `who`, for a
  // stream of `method` that must end once they are revoked.
  CredentialWatch Watch(const grpc::ServerContextBase& ctx, std::string_view method,
                        const Principal& who) const;

  // The caller of `ctx` if it may call `method`: the first two steps of
  // Handle, logged the same way. For streams, which are not run by Handle.
  [[nodiscard]] absl::StatusOr<Principal> Authorize(const grpc::ServerContextBase& ctx,
                                                    std::string_view method) const;

  // Counts one finished call of `method`, as Handle does.
  void Record(std::string_view method, int code, std::chrono::nanoseconds latency) const;

  ServerStats& stats() const { return *stats_; }
  Streams& streams() const { return *streams_; }

 private:
  grpc::Status Run(grpc::ServerContextBase* ctx, std::string_view method,
                   const HandlerBody& body) const;

  const Authenticator* auth_;
  ServerStats* stats_;
  Streams* streams_;
};

// CallHandler::Handle with the handler of the GrpcServer running in this
// process (there is at most one; see GrpcServer::Start). Without a running
// GrpcServer: UNAVAILABLE, so a service must be served through GrpcServer,
// tests included.
grpc::Status Handle(grpc::ServerContextBase* ctx, std::string_view method, const HandlerBody& body);

}  // namespace threadline::server
