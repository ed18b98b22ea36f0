#pragma once

// A service's gRPC face, written once as a table: each RPC of the generated
// service next to the function that serves it.
//
//   std::unique_ptr<grpc::Service> NewBillingGrpc(BillingService* s) {
//     return server::MakeFace(
//         s,
//         command::Command(TL_RPC(BillingService, IssueInvoice), &BillingService::IssueInvoice),
//         server::Query(TL_RPC(BillingService, GetAccount), &BillingService::GetAccount));
//   }
//
// Every call runs through server::Handle: authentication, the role rule
// (policy.cc holds the rules, per service; the table does not repeat them),
// stats, and INTERNAL instead of an escaping exception. Handlers validate
// their own requests and return absl::StatusOr<Response>.

#include <grpcpp/impl/codegen/config_protobuf.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/sync_stream.h>

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/server/handler.h"

namespace threadline::server {
namespace face_internal {

// What a generated method's signature says: its service, request, response
// and whether the server streams.
template <typename Method>
struct MethodOf;
template <typename Generated_, typename Request_, typename Response_>
struct MethodOf<grpc::Status (Generated_::*)(grpc::ServerContext*, const Request_*, Response_*)> {
  using Generated = Generated_;
  using Request = Request_;
  using Response = Response_;
  static constexpr bool kServerStreaming = false;
};
template <typename Generated_, typename Request_, typename Response_>
struct MethodOf<grpc::Status (Generated_::*)(grpc::ServerContext*, const Request_*,
                                             grpc::ServerWriter<Response_>*)> {
  using Generated = Generated_;
  using Request = Request_;
  using Response = Response_;
  static constexpr bool kServerStreaming = true;
};

}  // namespace face_internal

// One RPC: the generated service's method `kMethod` (its signature fixes the
// request and response types) and its full gRPC name. Written with TL_RPC,
// so a misspelt service or method does not compile.
template <auto kMethod>
struct Rpc {
  using Traits = face_internal::MethodOf<decltype(kMethod)>;
  using Generated = typename Traits::Generated;
  using Request = typename Traits::Request;
  using Response = typename Traits::Response;
  const char* name;  // "/threadline.v1.BillingService/GetAccount"; a literal
};

// The RPC `method` of threadline.v1.`service` (needs the service's generated
// header, threadline/v1/<dept>.grpc.pb.h, in scope).
#define TL_RPC(service, method)                                            \
  ::threadline::server::Rpc<&::threadline::v1::service::Service::method> { \
    "/threadline.v1." #service "/" #method                                 \
  }

// A grpc::Service built from a table (see MakeFace). Registers its methods
// the way generated code does, under the generated names, so reflection and
// health see the service it implements. Immutable once built; thread-safe.
class Face final : public grpc::Service {
 public:
  // "threadline.v1.BillingService"; empty for an empty table.
  const std::string& service_name() const { return service_; }

  // OK when the table lists every RPC of its service exactly once;
  // FAILED_PRECONDITION naming what is missing or repeated otherwise.
  // GrpcServer::Start refuses to serve a face that is not complete.
  [[nodiscard]] absl::Status CheckComplete() const;

  // `body(ctx, principal, request)` returns absl::StatusOr<Response>.
  template <auto kMethod, typename Body>
  void AddUnary(Rpc<kMethod> rpc, Body body) {
    using Request = typename Rpc<kMethod>::Request;
    using Response = typename Rpc<kMethod>::Response;
    const char* name = rpc.name;
    Register(
        name, grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<Face, Request, Response, grpc::protobuf::MessageLite,
                                             grpc::protobuf::MessageLite>(
            [name, body = std::move(body)](Face*, grpc::ServerContext* ctx, const Request* request,
                                           Response* response) {
              return Handle(ctx, name, [&](const Principal& who) -> absl::Status {
                absl::StatusOr<Response> result = body(*ctx, who, *request);
                if (!result.ok()) return result.status();
                *response = *std::move(result);
                return absl::OkStatus();
              });
            },
            this));
  }

  // `body(ctx, principal, request, writer, watch)` returns absl::Status;
  // `watch` holds the call's credentials (see Stream).
  template <auto kMethod, typename Body>
  void AddServerStreaming(Rpc<kMethod> rpc, Body body) {
    using Request = typename Rpc<kMethod>::Request;
    using Response = typename Rpc<kMethod>::Response;
    const char* name = rpc.name;
    Register(
        name, grpc::internal::RpcMethod::SERVER_STREAMING,
        new grpc::internal::ServerStreamingHandler<Face, Request, Response>(
            [name, body = std::move(body)](Face*, grpc::ServerContext* ctx, const Request* request,
                                           grpc::ServerWriter<Response>* writer) {
              return Handle(ctx, name, [&](const Principal& who) -> absl::Status {
                absl::StatusOr<CredentialWatch> watch = WatchCredentials(*ctx, name, who);
                if (!watch.ok()) return watch.status();
                return body(*ctx, who, *request, *writer, *watch);
              });
            },
            this));
  }

 private:
  // Adds the method as generated code does; takes `handler`.
  void Register(const char* name, grpc::internal::RpcMethod::RpcType type,
                grpc::internal::MethodHandler* handler);

  std::string service_;
  std::vector<std::string> listed_;  // full method names, in table order
};

// One line of a table: an RPC and how it is served. `serve(owner, ctx,
// principal, request[, writer])` adapts the owner's handler; Query, Stream
// and command::Command build it.
template <auto kMethod, typename Serve>
struct FaceEntry {
  Rpc<kMethod> rpc;
  Serve serve;
};

// A query: `handler(owner, request)` returns absl::StatusOr<Response>. Any
// callable that takes the owner first: a member function pointer or a
// lambda.
template <auto kMethod, typename Handler>
auto Query(Rpc<kMethod> rpc, Handler handler) {
  static_assert(!Rpc<kMethod>::Traits::kServerStreaming, "a streaming RPC is a server::Stream");
  auto serve = [handler = std::move(handler)](auto& owner, grpc::ServerContext&, const Principal&,
                                              const typename Rpc<kMethod>::Request& request) {
    return std::invoke(handler, owner, request);
  };
  return FaceEntry<kMethod, decltype(serve)>{rpc, std::move(serve)};
}

// A server stream: `handler(owner, ctx, request, writer, watch)` returns
// absl::Status when the stream ends. It must watch ctx.IsCancelled(), and
// watch.Check() before each write and at least once a second: when the
// tokens file is reloaded without the stream's token, or with a role that
// may no longer call the RPC, the stream ends with that check's status.
template <auto kMethod, typename Handler>
auto Stream(Rpc<kMethod> rpc, Handler handler) {
  static_assert(Rpc<kMethod>::Traits::kServerStreaming, "a unary RPC is a server::Query");
  auto serve = [handler = std::move(handler)](
                   auto& owner, grpc::ServerContext& ctx, const Principal&,
                   const typename Rpc<kMethod>::Request& request,
                   grpc::ServerWriter<typename Rpc<kMethod>::Response>& writer,
                   CredentialWatch& watch) -> absl::Status {
    return std::invoke(handler, owner, ctx, request, writer, watch);
  };
  return FaceEntry<kMethod, decltype(serve)>{rpc, std::move(serve)};
}

// The face of `owner` (borrowed; it must outlive the face) from one entry
// per RPC, all of one generated service.
template <typename Owner, auto kFirst, typename FirstServe, auto... kMethods, typename... Serves>
std::unique_ptr<Face> MakeFace(Owner* owner, FaceEntry<kFirst, FirstServe> first,
                               FaceEntry<kMethods, Serves>... rest) {
  using Generated = typename Rpc<kFirst>::Generated;
  static_assert((std::is_same_v<Generated, typename Rpc<kMethods>::Generated> && ...),
                "every RPC of a face belongs to the same generated service");
  auto face = std::make_unique<Face>();
  auto add = [&](auto entry) {
    if constexpr (decltype(entry.rpc)::Traits::kServerStreaming) {
      face->AddServerStreaming(
          entry.rpc,
          [owner, serve = std::move(entry.serve)](
              grpc::ServerContext& ctx, const Principal& who, const auto& request, auto& writer,
              CredentialWatch& watch) { return serve(*owner, ctx, who, request, writer, watch); });
    } else {
      face->AddUnary(entry.rpc,
                     [owner, serve = std::move(entry.serve)](
                         grpc::ServerContext& ctx, const Principal& who, const auto& request) {
                       return serve(*owner, ctx, who, request);
                     });
    }
  };
  add(std::move(first));
  (add(std::move(rest)), ...);
  return face;
}

}  // namespace threadline::server
