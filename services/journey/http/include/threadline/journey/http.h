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
  // holds a server thread. Default: 64.
  size_t max_streams = 64;
  // A stream more than this many updates behind is ended (the browser
  // resumes from its last id). Default: 10000, as for gRPC.
  uint64_t max_subscriber_lag = 10000;
  // Most updates a new stream without a resume point may replay before
  // going live (its `backlog` query parameter; none by default), so a
  // freshly opened dashboard shows recent activity. Default: 1000.
  uint64_t max_backlog = 1000;
  // The role check, a full gRPC method name per endpoint. Default (null):
  // server::Allowed, the policy gRPC uses. Tests replace it to reach the
  // 403 path, which the real policy never takes for the journey's reads.
  std::function<bool(server::Role, std::string_view method)> allowed;
};

// Serves HTTP on its own thread pool between Start() and Stop(). Borrows the
// projector and authenticator, which must outlive it. Thread-safe.
class JourneyHttp {
 public:
  // Binds and starts serving. UNAVAILABLE naming the address if it cannot
  // listen; FAILED_PRECONDITION for an open authenticator on a non-loopback
  // address without allow_open.
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
