#pragma once

// cpp-httplib's server with limits no client can exceed. cpp-httplib 0.11
// (Debian's) gives every connection a thread from a fixed pool for as long
// as the connection lasts, queues the rest without bound, waits 5 s per
// byte of a request head (so a client sending a byte every 4 s holds its
// thread for ever), reads a body of any size into memory, and reads a body
// it refuses for being too large to the end before answering. Here:
//
// - a connection's thread comes from a pool that grows up to
//   max_connections; beyond it, and beyond max_connections_per_ip for one
//   address, a connection is answered 503 and closed at once, on the
//   accepting thread;
// - the request line and headers must arrive within header_timeout and
//   stay under kMaxHeadBytes; a body within read_timeout;
// - a body is refused from its headers alone (413 over max_body_bytes, 411
//   without a length), before any of it is read and before any handler or
//   token check runs;
// - a client gets write_timeout to take response bytes;
// - a connection serves at most keep_alive_max_requests requests and may
//   idle keep_alive_timeout between them.
//
// Only http.cc and this file include httplib.h.

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"

namespace threadline::journey {

struct ListenerLimits {
  size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds keep_alive_timeout{5000};
  size_t keep_alive_max_requests = 100;
  size_t max_connections = 256;
  size_t max_connections_per_ip = 64;  // 0: none
};

// A request head larger than this (request line and headers) is refused.
inline constexpr size_t kMaxHeadBytes = 64 * 1024;

// Why a request's body is refused, from its headers alone: the HTTP status
// and what to tell the client.
struct BodyRefusal {
  int http_status;
  absl::Status status;
};
std::optional<BodyRefusal> RefuseBody(const httplib::Request& req, size_t max_body_bytes);

// Answers a refused body: (response, HTTP status, what to say).
using RefusalReply = std::function<void(httplib::Response&, int, const absl::Status&)>;

// Thread-safe as httplib::Server is. Bind, listen_after_bind and stop as
// usual; after stop(), CloseConnections() wakes the connection threads that
// still wait on a client, so that listen_after_bind returns at once.
class LimitedServer final : public httplib::Server {
 public:
  LimitedServer(const ListenerLimits& limits, RefusalReply reply);

  // After binding: lets the kernel queue `backlog` connections not yet
  // accepted (httplib listens with 5, so a burst of connections would wait
  // for SYN retries).
  void RaiseBacklog(int backlog);
  // Shuts down every open connection.
  void CloseConnections();
  // Connections being served now.
  size_t connections() const;

 private:
  class Connection;

  bool process_and_close_socket(socket_t sock) override;
  void ServeAndClose(socket_t sock, const std::string& ip);
  void Serve(Connection& conn);
  // Counts the connection against max_connections and its address's share,
  // and lists it for CloseConnections; RESOURCE_EXHAUSTED naming the flag
  // (and nothing changed) over either.
  absl::Status Track(socket_t sock, const std::string& ip);
  void Untrack(socket_t sock, const std::string& ip);

  const ListenerLimits limits_;
  mutable std::mutex mu_;
  std::set<socket_t> open_;                            // guarded by mu_
  std::map<std::string, size_t, std::less<>> per_ip_;  // guarded by mu_
};

}  // namespace threadline::journey
