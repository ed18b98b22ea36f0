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
//
// Unary RPCs run on gRPC's synchronous thread pool. Server streams run on
// gRPC's callback API: a stream's handler returns a StreamSource (stream.h)
// that the server's few stream threads pull messages from whenever the
// client has taken the previous one, so an open stream holds no thread. The
// same checks run when a stream starts; the server's stream limits, write
// timeout and credential re-checks apply while it runs (ServerOptions).

#include <grpcpp/impl/codegen/config_protobuf.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/server_callback.h>
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
#include "threadline/server/stream.h"

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

// The typed half of a server stream: its reactor. StreamCall calls these,
// never while holding a lock of its own.
class StreamIo {
 public:
  // The source's next step; kMessage leaves the message in the reactor.
  virtual absl::StatusOr<StreamStep> IoNext() = 0;
  virtual void IoSendInitialMetadata() = 0;
  virtual void IoWrite() = 0;  // the message IoNext left
  virtual void IoFinish(const grpc::Status& status) = 0;
  virtual void IoCancel() = 0;      // ServerContext::TryCancel
  virtual void IoDropSource() = 0;  // no IoNext follows

 protected:
  ~StreamIo() = default;
};

// The untyped half of a server stream (stream_call.cc): authentication and
// the role rule, the stream limits, the credential watch, pulling messages
// from the source on the server's stream threads, the write timeout and
// stats. Shared by the reactor, the server's list of open streams and the
// source's wakes; the reactor reports gRPC's callbacks to it.
class StreamCall {
 public:
  // Starts a stream of `method`: checks the caller and the limits, then
  // opens the source with `open(wake)` and sends the initial metadata. On
  // any refusal (no running GrpcServer, UNAUTHENTICATED, PERMISSION_DENIED,
  // RESOURCE_EXHAUSTED over a limit, or what `open` returned) it finishes
  // `io` with that status and returns null.
  static std::shared_ptr<StreamCall> Start(grpc::CallbackServerContext& ctx, const char* method,
                                           StreamIo& io,
                                           const std::function<absl::Status(StreamWake)>& open);
  virtual ~StreamCall() = default;

  virtual void WriteDone(bool ok) = 0;  // initial metadata or a message
  virtual void Cancelled() = 0;         // the client went away or the server cancelled
  virtual void Done() = 0;              // OnDone: the reactor is about to go
};

// A server stream's reactor: gRPC's callbacks go to its StreamCall, which
// decides what happens next. Deletes itself in OnDone.
template <typename Response>
class StreamReactor final : public grpc::ServerWriteReactor<Response>, private StreamIo {
 public:
  using Open = std::function<absl::StatusOr<std::unique_ptr<StreamSource<Response>>>(StreamWake)>;

  StreamReactor(grpc::CallbackServerContext& ctx, const char* method, const Open& open)
      : ctx_(ctx) {
    call_ = StreamCall::Start(ctx, method, *this, [&](StreamWake wake) -> absl::Status {
      absl::StatusOr<std::unique_ptr<StreamSource<Response>>> source = open(std::move(wake));
      if (!source.ok()) return source.status();
      source_ = *std::move(source);
      return absl::OkStatus();
    });
  }

  void OnSendInitialMetadataDone(bool ok) override {
    if (call_) call_->WriteDone(ok);
  }
  void OnWriteDone(bool ok) override {
    if (call_) call_->WriteDone(ok);
  }
  void OnCancel() override {
    if (call_) call_->Cancelled();
  }
  void OnDone() override {
    if (call_) call_->Done();
    delete this;
  }

 private:
  absl::StatusOr<StreamStep> IoNext() override { return source_->Next(message_); }
  void IoSendInitialMetadata() override { this->StartSendInitialMetadata(); }
  void IoWrite() override { this->StartWrite(&message_); }
  void IoFinish(const grpc::Status& status) override { this->Finish(status); }
  void IoCancel() override { ctx_.TryCancel(); }
  void IoDropSource() override { source_.reset(); }

  grpc::CallbackServerContext& ctx_;
  std::unique_ptr<StreamSource<Response>> source_;
  Response message_;  // the message being written
  std::shared_ptr<StreamCall> call_;
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
        grpc::internal::RpcServiceMethod::ApiType::SYNC,
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

  // `open(request, wake)` returns the stream's source,
  // absl::StatusOr<std::unique_ptr<StreamSource<Response>>>. Served on
  // gRPC's callback API (see StreamCall). The request arrives as bytes and
  // is parsed here, so a malformed one gets the same INTERNAL status as on
  // a synchronous method instead of gRPC's UNIMPLEMENTED.
  template <auto kMethod, typename OpenFn>
  void AddServerStreaming(Rpc<kMethod> rpc, OpenFn open) {
    using Request = typename Rpc<kMethod>::Request;
    using Response = typename Rpc<kMethod>::Response;
    using Reactor = face_internal::StreamReactor<Response>;
    const char* name = rpc.name;
    Register(
        name, grpc::internal::RpcMethod::SERVER_STREAMING,
        grpc::internal::RpcServiceMethod::ApiType::CALL_BACK,
        new grpc::internal::CallbackServerStreamingHandler<grpc::ByteBuffer, Response>(
            [name, open = std::move(open)](
                grpc::CallbackServerContext* ctx,
                const grpc::ByteBuffer* bytes) -> grpc::ServerWriteReactor<Response>* {
              return new Reactor(
                  *ctx, name,
                  [&](StreamWake wake) -> absl::StatusOr<std::unique_ptr<StreamSource<Response>>> {
                    Request request;
                    grpc::ByteBuffer copy(*bytes);
                    grpc::Status parsed =
                        grpc::SerializationTraits<Request>::Deserialize(&copy, &request);
                    if (!parsed.ok()) {
                      return absl::Status(static_cast<absl::StatusCode>(parsed.error_code()),
                                          parsed.error_message());
                    }
                    return open(request, std::move(wake));
                  });
            }));
  }

 private:
  // Adds the method as generated code does; takes `handler`.
  void Register(const char* name, grpc::internal::RpcMethod::RpcType type,
                grpc::internal::RpcServiceMethod::ApiType api,
                grpc::internal::MethodHandler* handler);

  std::string service_;
  std::vector<std::string> listed_;  // full method names, in table order
};

// One line of a table: an RPC and how it is served. `serve(owner, ctx,
// principal, request)` (unary) or `serve(owner, request, wake)` (stream)
// adapts the owner's handler; Query, Stream and command::Command build it.
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

// A server stream: `handler(owner, request, wake)` returns the stream's
// source, absl::StatusOr<std::unique_ptr<StreamSource<Response>>> (an error
// refuses the stream with it). The source is pulled on the server's stream
// threads; it calls `wake` when it has something new after saying kWait.
// The server re-checks the stream's credentials before every message and
// after every reload of the tokens file, and ends the stream with that
// check's status (UNAUTHENTICATED, PERMISSION_DENIED) once they fail.
template <auto kMethod, typename Handler>
auto Stream(Rpc<kMethod> rpc, Handler handler) {
  static_assert(Rpc<kMethod>::Traits::kServerStreaming, "a unary RPC is a server::Query");
  auto serve = [handler = std::move(handler)](
                   auto& owner, const typename Rpc<kMethod>::Request& request, StreamWake wake)
      -> absl::StatusOr<std::unique_ptr<StreamSource<typename Rpc<kMethod>::Response>>> {
    return std::invoke(handler, owner, request, std::move(wake));
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
          entry.rpc, [owner, serve = std::move(entry.serve)](const auto& request, StreamWake wake) {
            return serve(*owner, request, std::move(wake));
          });
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
