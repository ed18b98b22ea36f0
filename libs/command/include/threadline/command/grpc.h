#pragma once

// Commands in a service's gRPC face (server/face.h): the caller becomes the
// actor recorded on the events.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <utility>

#include "threadline/command/runner.h"
#include "threadline/server/face.h"

namespace threadline::command {

// The caller's principal as the actor recorded on events, and the
// correlation id from the "x-correlation-id" header (empty when absent).
Invocation InvocationOf(const grpc::ServerContext& ctx, const server::Principal& principal);

// A command: `handler(owner, invocation, request)` returns
// absl::StatusOr<Response>. Any callable that takes the owner first: a
// member function pointer or a lambda.
template <auto kMethod, typename Handler>
auto Command(server::Rpc<kMethod> rpc, Handler handler) {
  static_assert(!server::Rpc<kMethod>::Traits::kServerStreaming, "a command is a unary RPC");
  auto serve = [handler = std::move(handler)](
                   auto& owner, grpc::ServerContext& ctx, const server::Principal& who,
                   const typename server::Rpc<kMethod>::Request& request) {
    return std::invoke(handler, owner, InvocationOf(ctx, who), request);
  };
  return server::FaceEntry<kMethod, decltype(serve)>{rpc, std::move(serve)};
}

}  // namespace threadline::command
