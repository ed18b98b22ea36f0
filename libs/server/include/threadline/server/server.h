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

class Streams;

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

  // Limits on server streams (SubscribeJourney). A stream holds no thread;
  // these bound the memory and work that one client can claim.
  //
  // Streams open at once over every caller; the next is refused with
  // RESOURCE_EXHAUSTED naming --grpc-max-streams. Default: 2000.
  size_t max_streams = 2000;
  // Streams one principal (a token's name) may hold open at once; the next
  // is refused with RESOURCE_EXHAUSTED naming
  // --grpc-max-streams-per-principal. Default: 100.
  size_t max_streams_per_principal = 100;
  // A stream whose client has not taken a message for this long (it stopped
  // reading, or its connection died without a word while updates were
  // due) is cancelled. Default: 30 s.
  std::chrono::milliseconds stream_write_timeout{30000};
  // Threads that prepare the messages of every open stream. Default: 4.
  size_t stream_threads = 4;
  // HTTP/2 keepalive: while a connection has calls open, the server pings it
  // this often, and closes it (cancelling its calls, so their streams are
  // reaped) when a ping is not answered within keepalive_timeout. Catches
  // clients that vanished without closing the connection. Defaults: 30 s
  // and 10 s.
  std::chrono::milliseconds keepalive_time{30000};
  std::chrono::milliseconds keepalive_timeout{10000};
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
  // Server streams open now.
  size_t open_streams() const;

  // Re-reads the tokens file (SIGHUP); logs the outcome. On error the old
  // tokens stay in force.
  void ReloadTokens();

  // Health status of one service by full name ("threadline.v1.SalesService")
  // or of the whole server (""). Ignored after Shutdown.
  void SetServing(const std::string& service_name, bool serving);

  // Marks everything NOT_SERVING, stops accepting calls, lets running calls
  // finish for up to `drain` and then cancels them (open streams end then);
  // returns when every call has ended. Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

 private:
  GrpcServer(std::unique_ptr<Authenticator> auth, std::string listen, const ServerOptions& options);

  std::unique_ptr<Authenticator> auth_;
  ServerStats stats_;
  std::unique_ptr<Streams> streams_;  // after gRPC has finished every call
  CallHandler handler_;
  std::string listen_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // guarded by shutdown_mu_
};

}  // namespace threadline::server
