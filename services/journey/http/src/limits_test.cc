// The HTTP listener's limits against floods on loopback, with a real
// projector on the embedded bus (label `security`): slow-header sockets,
// a 1 GB body, connection caps, timeouts and keep-alive. Raw sockets play
// the attackers, so every byte they send is under the test's control; the
// body is sent from one 64 KiB buffer, never allocated whole.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "threadline/bus/embedded.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/http.h"
#include "threadline/testing/testing.h"

namespace threadline::journey {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ::threadline::testing::TempDir;
using ::threadline::testing::UsageOf;
using ::threadline::testing::WaitFor;

constexpr char kDashboardToken[] = "dashboard-token-0123456789";
constexpr char kCustomer[] = "cus_0190bbbbbbbbbbbbbbbbbbbbbbbbbbbb";

int MillisLeft(Clock::time_point deadline) {
  return static_cast<int>(std::max<int64_t>(
      0, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count()));
}

// One client connection from a loopback address of the test's choosing
// (all of 127.0.0.0/8 is this host), blocking unless asked otherwise.
class Conn {
 public:
  Conn(int port, const char* from = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &src.sin_addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src), 0);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
    EXPECT_TRUE(connected_) << std::strerror(errno);
  }
  ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int fd() const { return fd_; }
  void NonBlocking() { ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL, 0) | O_NONBLOCK); }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // What arrives until the server closes (or resets) the connection; false
  // if it is still open at `timeout`.
  bool ReadToClose(milliseconds timeout, std::string* got = nullptr) {
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, MillisLeft(deadline)) <= 0) return false;
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
      if (n > 0 && got != nullptr) got->append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// A GET on a fresh connection from `from`: the response's status line and
// how long it took; "" when it did not complete within 5 s.
std::pair<std::string, milliseconds> Get(int port, const std::string& path, const char* from) {
  const auto start = Clock::now();
  Conn c(port, from);
  c.Send("GET " + path + " HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + kDashboardToken +
         "\r\nConnection: close\r\n\r\n");
  std::string got;
  if (!c.ReadToClose(std::chrono::seconds(5), &got)) got.clear();
  return {got.substr(0, got.find("\r\n")),
          std::chrono::duration_cast<milliseconds>(Clock::now() - start)};
}

class HttpLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus::EmbeddedBusOptions bo;
    bo.path = (dir_.path() / "bus").string();
    bus_ = std::move(*bus::OpenEmbeddedBus(bo));
    std::vector<bus::TopicSpec> topics;
    for (const auto& t : domain::DepartmentTopics()) topics.push_back({t, 2});
    topics.push_back({domain::kJourneyTopic, 2});
    topics.push_back({domain::kDeadLetterTopic, 2});
    ASSERT_OK(bus_->EnsureTopics(topics));
    ProjectorOptions po;
    po.path = (dir_.path() / "journey").string();
    projector_ = std::move(*Projector::Open(po, bus_.get()));
    ASSERT_OK(projector_->Start());
    const auto tokens = dir_.path() / "tokens";
    std::ofstream(tokens) << kDashboardToken << " wall dashboard\n";
    std::filesystem::permissions(
        tokens, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auth_ = std::move(*server::Authenticator::FromFile(tokens.string()));
  }
  void TearDown() override {
    if (http_) http_->Stop();
    projector_->Stop();
  }
  void StartHttp(JourneyHttpOptions o) {
    o.listen = "127.0.0.1:0";
    auto http = JourneyHttp::Start(o, projector_.get(), auth_.get());
    ASSERT_OK(http);
    http_ = std::move(*http);
  }
  int port() const { return http_->port(); }

  TempDir dir_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<Projector> projector_;
  std::unique_ptr<server::Authenticator> auth_;
  std::unique_ptr<JourneyHttp> http_;
};

const std::string kContext = std::string("/api/v1/customers/") + kCustomer + "/context";

// 80 sockets on one address send a request head one byte at a time. The
// address's share (64 by default) is held until the header timeout, the
// rest are refused at once, and clients on other addresses are served
// throughout, each within a second.
TEST_F(HttpLimitsTest, SlowHeaderSocketsDoNotStarveOtherClients) {
  JourneyHttpOptions o;  // the defaults, but for a header timeout a test can wait out
  o.header_timeout = std::chrono::seconds(2);
  StartHttp(o);
  const auto before = UsageOf();

  constexpr int kSlow = 80;
  std::vector<std::unique_ptr<Conn>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<Conn>(port(), "127.0.0.1"));
    slow.back()->NonBlocking();
  }
  const std::string head = "GET " + kContext +
                           " HTTP/1.1\r\nHost: test\r\nX-Slow: " + std::string(4096, 'a') +
                           "\r\n\r\n";
  std::vector<size_t> sent(kSlow, 0);
  std::vector<bool> closed(kSlow, false);
  std::vector<Clock::time_point> closed_at(kSlow);
  std::atomic<bool> stop{false};
  const auto started = Clock::now();
  // One byte per socket every 50 ms: a head of 4 KiB would take minutes.
  std::thread drip([&] {
    char buf[512];
    while (!stop) {
      for (int i = 0; i < kSlow; ++i) {
        if (closed[i]) continue;
        ssize_t n = ::recv(slow[i]->fd(), buf, sizeof buf, MSG_DONTWAIT);
        bool gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        if (!gone && sent[i] < head.size()) {
          gone = ::send(slow[i]->fd(), head.data() + sent[i], 1, MSG_NOSIGNAL) != 1;
          if (!gone) ++sent[i];
        }
        if (gone) {
          closed[i] = true;
          closed_at[i] = Clock::now();
        }
      }
      ::poll(nullptr, 0, 50);  // the drip's pace, not a wait for anything
    }
  });

  // Meanwhile another address is served, every time, within a second.
  for (int i = 0; i < 20; ++i) {
    auto [status, took] = Get(port(), kContext, "127.0.0.2");
    EXPECT_EQ(status, "HTTP/1.1 404 Not Found") << "request " << i;
    EXPECT_LT(took, milliseconds(1000)) << "request " << i;
  }
  // Every slow socket ends: the ones over the address's share at once, the
  // others by the header timeout, although they are still sending.
  EXPECT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < kSlow; ++i) {
          if (!closed[i]) return false;
        }
        return true;
      },
      std::chrono::seconds(10)));
  stop = true;
  drip.join();
  int at_once = 0, timed_out = 0;
  for (int i = 0; i < kSlow; ++i) {
    auto after = closed_at[i] - started;
    if (after < milliseconds(1500)) ++at_once;
    if (after >= milliseconds(1900) && after < milliseconds(4000)) ++timed_out;
    EXPECT_LT(sent[i], head.size()) << "socket " << i << " sent its whole head";
  }
  EXPECT_EQ(at_once, kSlow - 64);
  EXPECT_EQ(timed_out, 64);

  // 64 connection threads at most, and little memory for them.
  const auto after = UsageOf();
  EXPECT_LT(after.threads, before.threads + 64 + 8);
  EXPECT_LT(after.rss_kib, before.rss_kib + 64 * 1024)
      << "RSS grew from " << before.rss_kib << " KiB to " << after.rss_kib << " KiB";
}

// A 1 GB body without a token is refused with 413 from its Content-Length:
// the answer comes while the client is still at its first megabytes, the
// server's memory does not grow with it, and other requests are served
// meanwhile.
TEST_F(HttpLimitsTest, AGigabyteBodyIsRefusedBeforeItIsRead) {
  StartHttp({});
  const auto before = UsageOf();
  constexpr uint64_t kBody = uint64_t{1} << 30;
  Conn c(port());
  ASSERT_TRUE(
      c.Send("POST /api/v1/journey/streams/drop HTTP/1.1\r\nHost: test\r\n"
             "Content-Type: application/octet-stream\r\nContent-Length: " +
             std::to_string(kBody) + "\r\n\r\n"));
  c.NonBlocking();
  static const std::string chunk(64 * 1024, 'x');
  uint64_t sent = 0;
  std::string response;
  bool served_meanwhile = false;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (response.find("\r\n\r\n") == std::string::npos && sent < kBody &&
         Clock::now() < deadline) {
    pollfd p{c.fd(), POLLIN | POLLOUT, 0};
    ASSERT_GT(::poll(&p, 1, MillisLeft(deadline)), 0);
    // Sends whenever it can, as a client streaming a file does, and reads
    // what comes back meanwhile.
    if (p.revents & POLLOUT) {
      ssize_t n = ::send(c.fd(), chunk.data(), std::min<uint64_t>(chunk.size(), kBody - sent),
                         MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<uint64_t>(n);
      if (!served_meanwhile && sent > 0) {
        served_meanwhile = Get(port(), "/", "127.0.0.1").first == "HTTP/1.1 200 OK";
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
      if (n <= 0) break;
      response.append(buf, static_cast<size_t>(n));
    }
  }
  EXPECT_EQ(response.substr(0, response.find("\r\n")), "HTTP/1.1 413 Payload Too Large")
      << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  // The kernel's socket buffers take a few megabytes before the server says
  // anything; reading the body through would take the whole gigabyte.
  EXPECT_LT(sent, uint64_t{64} << 20) << "bytes sent before the answer";
  c.ReadToClose(std::chrono::seconds(5), &response);
  EXPECT_NE(response.find("--http-max-body-bytes"), std::string::npos) << response;
  EXPECT_EQ(response.find("401"), std::string::npos) << "the size is checked before the token";
  // Another request got through while the upload was open.
  EXPECT_TRUE(served_meanwhile);
  EXPECT_EQ(Get(port(), "/", "127.0.0.1").first, "HTTP/1.1 200 OK");
  const auto after = UsageOf();
  EXPECT_LT(after.rss_kib, before.rss_kib + 32 * 1024)
      << "RSS grew from " << before.rss_kib << " KiB to " << after.rss_kib << " KiB";
}

TEST_F(HttpLimitsTest, BodiesAreJudgedByTheirHeadersAlone) {
  StartHttp({});
  {
    // Expect: 100-continue gets the refusal instead of "100 Continue", so
    // a careful client never sends the body at all.
    Conn c(port());
    c.Send(
        "POST /api/v1/journey/streams/drop HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
        "Content-Length: 10000000\r\n\r\n");
    std::string got;
    EXPECT_TRUE(c.ReadToClose(std::chrono::seconds(5), &got));
    EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 413 Payload Too Large") << got;
  }
  {
    Conn c(port());
    c.Send(
        "POST /api/v1/journey/streams/drop HTTP/1.1\r\nHost: test\r\n"
        "Transfer-Encoding: chunked\r\n\r\n");
    std::string got;
    EXPECT_TRUE(c.ReadToClose(std::chrono::seconds(5), &got));
    EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 411 Length Required") << got;
  }
  {
    // No length and no coding is no body (RFC 9112): answered at once.
    Conn c(port());
    c.Send("POST /api/v1/journey/streams/drop HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    std::string got;
    const auto start = Clock::now();
    EXPECT_TRUE(c.ReadToClose(std::chrono::seconds(5), &got));
    EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 401 Unauthorized") << got;
    EXPECT_LT(Clock::now() - start, milliseconds(1000));
  }
}

TEST_F(HttpLimitsTest, SlowBodiesIdleConnectionsAndLongKeepAlivesAreClosed) {
  JourneyHttpOptions o;
  o.read_timeout = milliseconds(300);
  o.keep_alive_timeout = milliseconds(300);
  o.keep_alive_max_requests = 3;
  StartHttp(o);
  {
    // A body that stops coming: the connection ends after the read timeout.
    Conn c(port());
    c.Send(
        "POST /api/v1/journey/streams/drop HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n"
        "0123456789");
    const auto start = Clock::now();
    EXPECT_TRUE(c.ReadToClose(std::chrono::seconds(5)));
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  }
  {
    // Three requests on one connection, the last answered with
    // "Connection: close", and then the connection ends.
    Conn c(port());
    const std::string get = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    c.Send(get + get + get + get);
    std::string got;
    EXPECT_TRUE(c.ReadToClose(std::chrono::seconds(5), &got));
    size_t answers = 0;
    for (auto p = got.find("HTTP/1.1 200 OK"); p != std::string::npos;
         p = got.find("HTTP/1.1 200 OK", p + 1)) {
      ++answers;
    }
    EXPECT_EQ(answers, 3u);
    EXPECT_NE(got.rfind("Connection: close"), std::string::npos);
  }
  {
    // An idle keep-alive connection ends after the keep-alive timeout.
    Conn c(port());
    c.Send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    const auto start = Clock::now();
    std::string got;
    EXPECT_TRUE(c.ReadToClose(std::chrono::seconds(5), &got));
    EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 200 OK");
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  }
}

TEST_F(HttpLimitsTest, ConnectionsOverTheCapAreAnswered503AndClosedAtOnce) {
  JourneyHttpOptions o;
  o.max_connections = 4;
  o.max_streams = 2;
  o.max_connections_per_ip = 0;
  StartHttp(o);
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<Conn>(port()));
  // The fifth is answered 503 naming the limit, and closed, without being
  // given a thread; the held four wait for their heads.
  {
    Conn extra(port());
    std::string got;
    EXPECT_TRUE(extra.ReadToClose(std::chrono::seconds(2), &got));
    EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 503 Service Unavailable") << got;
    EXPECT_NE(got.find("--http-max-connections"), std::string::npos) << got;
  }
  // A held connection that goes frees its place.
  held.pop_back();
  EXPECT_TRUE(WaitFor([&] { return Get(port(), "/", "127.0.0.1").first == "HTTP/1.1 200 OK"; }));
}

}  // namespace
}  // namespace threadline::journey
