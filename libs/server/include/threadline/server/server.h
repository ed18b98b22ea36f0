#pragma once

// The gRPC server every Threadline process runs: listen address, TLS,
// tokens, health, reflection, graceful shutdown.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/server/auth.h"
#include "threadline/server/handler.h"
#include "threadline/server/stats.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace threadline::server {

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see GrpcServer::port).
  // Also "[::1]:port" and "unix:/path". Default: 127.0.0.1:50051.
  std::string listen = "127.0.0.1:50051";
  // Bearer tokens, one "TOKEN PRINCIPAL ROLE" per line (see ParseTokens).
  // Default: none, which runs open (everyone admin) on a loopback address and
  // refuses to start on any other unless allow_open.
  std::string tokens_file;
  // Serve without tokens on a non-loopback address, for a network that
  // authenticates in front of the server (a mesh). Default: false.
  bool allow_open = false;
  // Server certificate chain and private key (PEM files). Both or neither.
  // Default: none, plaintext.
  std::string tls_cert;
  std::string tls_key;
  // CA (PEM) that client certificates must chain to; when set, clients
  // without a valid certificate are rejected (mutual TLS). Needs tls_cert.
  // Default: none, client certificates are not requested.
  std::string tls_client_ca;
  // Largest request or response message. Default: 4 MiB (gRPC's own).
  int max_message_bytes = 4 * 1024 * 1024;
};

// True for addresses only this host can reach: 127.0.0.0/8, ::1, localhost
// and unix sockets.
bool IsLoopbackAddress(std::string_view listen);

// A started gRPC server with the standard health service (per service and
// overall "") and server reflection. Owns its Authenticator and ServerStats;
// borrows the services, which must outlive it. At most one runs per process:
// server::Handle() finds its CallHandler that way. Thread-safe, except that
// Shutdown must not race the destructor.
class GrpcServer {
 public:
  // Starts serving `services`. FAILED_PRECONDITION without a tokens file on a
  // non-loopback address, or when another GrpcServer runs in this process;
  // UNAVAILABLE naming the address when it cannot listen (in use, not
  // local, no permission); INVALID_ARGUMENT / NOT_FOUND for bad TLS or tokens
  // options; FAILED_PRECONDITION for a Face that leaves out or repeats an RPC
  // (Face::CheckComplete). Every registered Threadline service is marked
  // SERVING.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const ServerOptions& options, std::vector<grpc::Service*> services);

  // Shutdown(0) if not yet shut down.
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The port actually bound (the chosen one when options.listen had port 0).
  int port() const { return port_; }
  const Authenticator& auth() const { return *auth_; }
  Authenticator& auth() { return *auth_; }
  const ServerStats& stats() const { return stats_; }
  const CallHandler& handler() const { return handler_; }

  // Re-reads the tokens file (SIGHUP); logs the outcome. On error the old
  // tokens stay in force.
  void ReloadTokens();

  // Health status of one service by full name ("threadline.v1.SalesService")
  // or of the whole server (""). Ignored after Shutdown.
  void SetServing(const std::string& service_name, bool serving);

  // Marks everything NOT_SERVING, stops accepting calls, lets running calls
  // finish for up to `drain` and then cancels them; returns when every
  // handler has returned (streaming handlers must watch IsCancelled()).
  // Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

 private:
  GrpcServer(std::unique_ptr<Authenticator> auth, std::string listen);

  std::unique_ptr<Authenticator> auth_;
  ServerStats stats_;
  CallHandler handler_;
  std::string listen_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // guarded by shutdown_mu_
};

}  // namespace threadline::server
