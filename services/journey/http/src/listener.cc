#include "listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <thread>
#include <vector>

#include "threadline/common/log.h"

namespace threadline::journey {
namespace {

using Clock = std::chrono::steady_clock;

const Logger& Log() {
  static const Logger* log = new Logger("journey-http");
  return *log;
}

LogEvery& RefusedLogLimit() {
  static auto* limit = new LogEvery(std::chrono::seconds(10));
  return *limit;
}

// After refusing a body the client may still be sending it. Closing with
// unread bytes makes the kernel send a reset, which can destroy the
// refusal before the client reads it; so the connection reads (and drops)
// a little more first, for a moment ("lingering close", RFC 9112 9.6).
constexpr size_t kLingerBytes = 1 << 20;
constexpr std::chrono::milliseconds kLinger{1000};

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

// Waits for `events` on `fd` until `deadline`: the revents, or 0 on timeout.
short PollUntil(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

std::string AddressOf(const sockaddr_storage& addr, int* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    if (port) *port = ntohs(a.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    if (port) *port = ntohs(a.sin6_port);
  }
  return text;
}

std::string PeerAddress(int fd, int* port = nullptr) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  return AddressOf(addr, port);
}

// Answers 503 without waiting for anything and closes: the connection is
// over a limit and gets no thread.
void Refuse(int fd, const std::string& why) {
  const std::string body =
      "{\"code\":\"RESOURCE_EXHAUSTED\",\"message\":\"" + why + "; retry later\"}";
  const std::string response =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
      "Retry-After: 1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  // Best effort: a full send buffer drops the answer, the close still comes.
  [[maybe_unused]] ssize_t sent =
      ::send(fd, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  if (RefusedLogLimit().Allow()) Log().Warn("connection refused", {{"reason", why}});
}

// httplib's TaskQueue. httplib queues one task per accepted socket; the
// pool runs it at once on the accepting thread, where LimitedServer decides
// without blocking whether the connection gets a thread (TryRun) or is
// refused. So a flood costs no thread and never queues. Threads are made
// when needed and kept for the next connection, never more than `max`.
class ConnectionPool final : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(size_t max) : max_(max) {}

  void enqueue(std::function<void()> fn) override;

  // Runs `job` on a pool thread; false when `max` jobs run already.
  bool TryRun(std::function<void()> job) {
    std::lock_guard lock(mu_);
    if (busy_ >= max_) return false;
    ++busy_;
    jobs_.push_back(std::move(job));
    if (idle_ > 0) {
      cv_.notify_one();
    } else {
      threads_.emplace_back([this] { Work(); });
    }
    return true;
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    // Queued jobs still run: each closes its socket.
    for (auto& t : threads_) t.join();
  }

 private:
  void Work() {
    std::unique_lock lock(mu_);
    while (true) {
      ++idle_;
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // stopping, and nothing left to run
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
      --busy_;
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  std::vector<std::thread> threads_;        // guarded by mu_ (joined by shutdown)
  size_t busy_ = 0;                         // guarded by mu_: queued or running
  size_t idle_ = 0;                         // guarded by mu_: threads waiting for a job
  bool stopping_ = false;                   // guarded by mu_
};

// The pool whose enqueue runs on this thread now.
thread_local ConnectionPool* t_pool = nullptr;

void ConnectionPool::enqueue(std::function<void()> fn) {
  t_pool = this;
  fn();
  t_pool = nullptr;
}

}  // namespace

std::optional<BodyRefusal> RefuseBody(const httplib::Request& req, size_t max_body_bytes) {
  const std::string limit = std::to_string(max_body_bytes);
  if (req.has_header("Transfer-Encoding")) {
    return BodyRefusal{411, absl::FailedPreconditionError(
                                "a request body must come with Content-Length (at most " + limit +
                                " bytes, --http-max-body-bytes); chunked bodies are refused")};
  }
  const size_t lengths = req.get_header_value_count("Content-Length");
  if (lengths == 0) return std::nullopt;
  const std::string value = req.get_header_value("Content-Length");
  uint64_t length = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (lengths > 1 || value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return BodyRefusal{
        400, absl::InvalidArgumentError("Content-Length must be one decimal number of bytes")};
  }
  if (length > max_body_bytes) {
    return BodyRefusal{413, absl::ResourceExhaustedError("the request body has " + value +
                                                         " bytes, more than the " + limit +
                                                         " that --http-max-body-bytes allows")};
  }
  return std::nullopt;
}

// One client connection as httplib's Stream: non-blocking, buffered reads
// with a deadline for the request head and another for the body, writes
// that wait at most write_timeout for the client.
class LimitedServer::Connection final : public httplib::Stream {
 public:
  Connection(int fd, const ListenerLimits& limits) : fd_(fd), limits_(limits) {}

  bool is_readable() const override {
    return pos_ < len_ || (PollUntil(fd_, POLLIN, deadline_) & (POLLIN | POLLHUP)) != 0;
  }
  bool is_writable() const override {
    short r = PollUntil(fd_, POLLOUT, Clock::now() + limits_.write_timeout);
    return (r & POLLOUT) != 0 && (r & (POLLERR | POLLHUP)) == 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (failed_) return -1;
    if (pos_ == len_) {
      ssize_t got = Fill(deadline_);
      if (got <= 0) return got;
    }
    size_t n = std::min(size, len_ - pos_);
    if (in_head_) {
      // httplib keeps every header line: bound what it may hold.
      if (head_bytes_ + n > kMaxHeadBytes) {
        failed_ = true;
        return -1;
      }
      head_bytes_ += n;
    }
    std::memcpy(ptr, buf_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    const auto deadline = Clock::now() + limits_.write_timeout;
    while (!failed_) {
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;  // httplib writes the rest with further calls
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
          (PollUntil(fd_, POLLOUT, deadline) & POLLOUT) == 0) {
        failed_ = true;  // gone, or not reading
      }
    }
    return -1;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = PeerAddress(fd_, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      ip = AddressOf(addr, &port);
    }
  }
  socket_t socket() const override { return fd_; }

  // Waits until `deadline` for the first byte of the next request; false
  // when none came or the client closed.
  bool AwaitRequest(Clock::time_point deadline) {
    return !failed_ && (pos_ < len_ || Fill(deadline) > 0);
  }
  // A request begins: its head must be in by `deadline`.
  void BeginHead(Clock::time_point deadline) {
    in_head_ = true;
    head_bytes_ = 0;
    deadline_ = deadline;
  }
  // Its head is in; a body must follow within read_timeout.
  void BeginBody() {
    in_head_ = false;
    deadline_ = Clock::now() + limits_.read_timeout;
  }

  // After this request the connection closes; with `linger`, unread body
  // bytes may follow, so it drains for a moment first (see kLinger).
  void CloseAfterRequest(bool linger) {
    close_ = true;
    linger_ = linger;
  }
  // A read or write failed or timed out, or CloseAfterRequest: what is left
  // on the wire is not a request.
  bool must_close() const { return close_ || failed_; }
  bool linger() const { return linger_; }

 private:
  // Reads into the empty buffer: >0 bytes, 0 at the client's end, -1 on
  // error or at `deadline` (which fails the connection).
  ssize_t Fill(Clock::time_point deadline) {
    pos_ = len_ = 0;
    while (true) {
      ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
      if (n > 0) {
        len_ = static_cast<size_t>(n);
        return n;
      }
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || PollUntil(fd_, POLLIN, deadline) == 0) {
        failed_ = true;
        return -1;
      }
    }
  }

  const int fd_;
  const ListenerLimits& limits_;
  char buf_[4096];
  size_t pos_ = 0, len_ = 0;
  Clock::time_point deadline_ = Clock::now();
  bool in_head_ = false;
  size_t head_bytes_ = 0;
  bool failed_ = false;
  bool close_ = false;
  bool linger_ = false;
};

LimitedServer::LimitedServer(const ListenerLimits& limits, RefusalReply reply) : limits_(limits) {
  new_task_queue = [max = limits_.max_connections] { return new ConnectionPool(max); };
  // httplib's own knobs, for what it still does itself: the payload check
  // behind ours, and the Keep-Alive header it sends.
  set_payload_max_length(limits_.max_body_bytes);
  set_keep_alive_max_count(limits_.keep_alive_max_requests);
  set_keep_alive_timeout(std::max<time_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(limits_.keep_alive_timeout).count()));
  set_read_timeout(limits_.read_timeout);
  set_write_timeout(limits_.write_timeout);
  // Before routing, so before the body is read and before any handler
  // looks at a token.
  set_pre_routing_handler([max = limits_.max_body_bytes, reply = std::move(reply)](
                              const httplib::Request& req, httplib::Response& res) {
    auto refused = RefuseBody(req, max);
    if (!refused) return HandlerResponse::Unhandled;
    reply(res, refused->http_status, refused->status);
    return HandlerResponse::Handled;
  });
}

void LimitedServer::CloseConnections() {
  std::lock_guard lock(mu_);
  for (socket_t fd : open_) ::shutdown(fd, SHUT_RDWR);
}

size_t LimitedServer::connections() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

absl::Status LimitedServer::Track(socket_t sock, const std::string& ip) {
  std::lock_guard lock(mu_);
  if (open_.size() >= limits_.max_connections) {
    return absl::ResourceExhaustedError(
        "this server has " + std::to_string(open_.size()) +
        " connections open, the most --http-max-connections allows");
  }
  auto it = per_ip_.find(ip);
  const size_t mine = it == per_ip_.end() ? 0 : it->second;
  if (limits_.max_connections_per_ip > 0 && mine >= limits_.max_connections_per_ip) {
    return absl::ResourceExhaustedError(
        "this address has " + std::to_string(mine) +
        " connections open, the most --http-max-connections-per-ip allows");
  }
  ++per_ip_[ip];
  open_.insert(sock);
  return absl::OkStatus();
}

void LimitedServer::Untrack(socket_t sock, const std::string& ip) {
  std::lock_guard lock(mu_);
  open_.erase(sock);
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

// On the accepting thread (ConnectionPool::enqueue): must not block.
bool LimitedServer::process_and_close_socket(socket_t sock) {
  const std::string ip = PeerAddress(sock);
  if (absl::Status s = Track(sock, ip); !s.ok()) {
    Refuse(sock, std::string(s.message()));
    return false;
  }
  if (t_pool == nullptr || !t_pool->TryRun([this, sock, ip] { ServeAndClose(sock, ip); })) {
    Untrack(sock, ip);
    Refuse(sock, "every connection thread is busy");
    return false;
  }
  return true;
}

void LimitedServer::ServeAndClose(socket_t sock, const std::string& ip) {
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL, 0) | O_NONBLOCK);
  Connection conn(sock, limits_);
  Serve(conn);
  Untrack(sock, ip);
  if (conn.linger()) {
    ::shutdown(sock, SHUT_WR);
    const auto until = Clock::now() + kLinger;
    char drop[16 * 1024];
    size_t dropped = 0;
    while (dropped < kLingerBytes && (PollUntil(sock, POLLIN, until) & (POLLIN | POLLHUP))) {
      ssize_t n = ::recv(sock, drop, sizeof drop, 0);
      if (n <= 0) break;
      dropped += static_cast<size_t>(n);
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

void LimitedServer::RaiseBacklog(int backlog) { ::listen(svr_sock_, backlog); }

void LimitedServer::Serve(Connection& conn) {
  for (size_t n = 0; n < limits_.keep_alive_max_requests; ++n) {
    if (svr_sock_ == INVALID_SOCKET) break;  // stopping
    // The first request's head has header_timeout from the accept; a later
    // one may first idle keep_alive_timeout.
    const auto head_deadline = Clock::now() + limits_.header_timeout;
    if (!conn.AwaitRequest(n == 0 ? head_deadline : Clock::now() + limits_.keep_alive_timeout)) {
      break;
    }
    conn.BeginHead(n == 0 ? head_deadline : Clock::now() + limits_.header_timeout);
    bool closed = false;
    bool ret = process_request(
        conn, /*close_connection=*/n + 1 == limits_.keep_alive_max_requests, closed,
        [&](httplib::Request& req) {
          conn.BeginBody();
          // RFC 9112 6.3: no length and no transfer coding
          // means no body; httplib would read to the end.
          if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
            req.set_header("Content-Length", "0");
          }
          if (RefuseBody(req, limits_.max_body_bytes)) {
            // No "100 Continue": the body is not wanted.
            // The pre-routing handler answers.
            req.headers.erase("Expect");
            req.headers.erase("Connection");
            req.set_header("Connection", "close");
            conn.CloseAfterRequest(/*linger=*/true);
          }
        });
    if (!ret || closed || conn.must_close()) break;
  }
}

}  // namespace threadline::journey
