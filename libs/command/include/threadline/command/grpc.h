#pragma once

// Bridges gRPC handlers to service logic: every handler is one line.

#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>

#include "threadline/command/runner.h"
#include "threadline/server/handler.h"

namespace threadline::command {

// The caller's principal as the actor recorded on events, and the
// correlation id from the "x-correlation-id" header (empty when absent).
Invocation InvocationOf(const grpc::ServerContext& ctx, const server::Principal& principal);

// Authenticates and authorises `method`, runs `fn(invocation)` (returning
// absl::StatusOr<Response>) and writes its value to `out`.
template <typename Response, typename Fn>
grpc::Status Serve(grpc::ServerContext* ctx, std::string_view method, Response* out, Fn&& fn) {
  return server::Handle(ctx, method, [&](const server::Principal& principal) -> absl::Status {
    absl::StatusOr<Response> result = fn(InvocationOf(*ctx, principal));
    if (!result.ok()) return result.status();
    *out = std::move(*result);
    return absl::OkStatus();
  });
}

}  // namespace threadline::command
