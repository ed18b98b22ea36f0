#pragma once

// The journey's HTTP face for browsers: the embedded dashboard, a JSON read
// API mirroring JourneyService's queries, and a Server-Sent Events stream of
// journey updates. Same bearer tokens and roles as gRPC.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "threadline/journey/projector.h"
#include "threadline/server/auth.h"

namespace threadline::journey {

struct JourneyHttpOptions {
  // host:port to listen on; port 0 picks a free port (see JourneyHttp::port).
  // Required (there is no default address: HTTP is off unless asked for).
  std::string listen;
  // Serve without tokens on a non-loopback address (a mesh authenticates in
  // front). Default: false, like server::ServerOptions::allow_open.
  bool allow_open = false;
  // A comment line on every idle event stream this often, so proxies and
  // load balancers do not close it. Default: 15 s.
  std::chrono::milliseconds heartbeat{15000};
  // Event streams open at once; more are refused with 503, because each
  // holds a connection and its thread. Below max_connections. Default: 64.
  size_t max_streams = 64;
  // A stream more than this many updates behind is ended (the browser
  // resumes from its last id). Default: 10000, as for gRPC.
  uint64_t max_subscriber_lag = 10000;
  // Most updates a new stream without a resume point may replay before
  // going live (its `backlog` query parameter; none by default), so a
  // freshly opened dashboard shows recent activity. Default: 1000.
  uint64_t max_backlog = 1000;

  // Limits no client can exceed (each a flag of `threadline serve`; see
  // docs/operations.md, "Limits").
  //
  // Largest request body. A larger one is refused with 413 from its
  // Content-Length, before any of it is read and before its token is looked
  // at; a body without Content-Length (chunked) with 411. Default: 64 KiB
  // (the API takes no bodies).
  size_t max_body_bytes = 64 * 1024;
  // The request line and headers must be in within this (from the accept,
  // or from the first byte of a later request on the connection); a slower
  // client is answered 400 and closed. Default: 10 s.
  std::chrono::milliseconds header_timeout{10000};
  // A request's body must be in within this after its headers. Default:
  // 10 s.
  std::chrono::milliseconds read_timeout{10000};
  // Longest wait for a client to take response bytes; also ends an event
  // stream whose browser stopped reading. Default: 10 s.
  std::chrono::milliseconds write_timeout{10000};
  // An idle keep-alive connection is closed after this. Default: 5 s.
  std::chrono::milliseconds keep_alive_timeout{5000};
  // Requests served on one connection; the last is answered with
  // "Connection: close". Default: 100.
  size_t keep_alive_max_requests = 100;
  // Connections open at once, each with a thread while it lasts; one more
  // is answered 503 and closed at once. Default: 256.
  size_t max_connections = 256;
  // Connections open at once from one client address; one more is answered
  // 503 and closed at once, so slow clients on one address cannot take every
  // connection. Behind a reverse proxy every client has the proxy's
  // address: raise it to max_connections there. 0: no such limit. Default:
  // 64.
  size_t max_connections_per_ip = 64;

  // The role check, a full gRPC method name per endpoint. Default (null):
  // server::Allowed, the policy gRPC uses. Tests replace it to reach the
  // 403 path, which the real policy never takes for the journey's reads.
  std::function<bool(server::Role, std::string_view method)> allowed;
};

// Serves HTTP between Start() and Stop(), a thread per open connection (at
// most max_connections). Borrows the projector and authenticator, which must
// outlive it. Thread-safe.
class JourneyHttp {
 public:
  // Binds and starts serving. UNAVAILABLE naming the address if it cannot
  // listen; FAILED_PRECONDITION for an open authenticator on a non-loopback
  // address without allow_open; INVALID_ARGUMENT naming the flag for a limit
  // out of range.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<JourneyHttp>> Start(
      const JourneyHttpOptions& options, Projector* projector, const server::Authenticator* auth);

  virtual ~JourneyHttp() = default;

  // The port actually bound.
  virtual int port() const = 0;
  // Ends every open event stream (clients reconnect and resume); returns how
  // many were open. Also served to admins as POST /api/v1/journey/streams/drop.
  virtual size_t DropStreams() = 0;
  // Ends the streams, stops accepting and waits for running requests.
  // Idempotent; the destructor calls it.
  virtual void Stop() = 0;
};

}  // namespace threadline::journey
