// A flood of SubscribeJourney streams from one authenticated client
// against the real `threadline serve` binary on the embedded bus (label
// `security`), over gRPC on loopback.
//
// 5,000 streams from one dashboard token: the ones over the principal's
// limit are refused with RESOURCE_EXHAUSTED naming the limit and its flag,
// the server's threads and memory stay within fixed bounds while the rest
// are open, a command and a health check answer within a second meanwhile,
// every open stream still gets its update, the server-wide limit holds for
// a second principal, and once the client goes every slot is free again.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "security_support.h"
#include "slice_test_body.h"

namespace threadline::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kWallToken[] = "flood-wall-token-0123456789abcdef";
constexpr char kOpsToken[] = "flood-ops-token-0123456789abcdef";
constexpr char kSalesToken[] = "flood-sales-token-0123456789abcdef";

constexpr int kStreams = 5000;
constexpr int kPerPrincipal = 2000;
constexpr int kPerServer = 2500;

// One SubscribeJourney call on the callback API: no client thread each.
class Watcher final : public grpc::ClientReadReactor<v1::JourneyUpdate> {
 public:
  Watcher(v1::JourneyService::Stub& stub, const std::string& token) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    stub.async()->SubscribeJourney(&ctx_, &request_, this);
    StartRead(&update_);
    StartCall();
  }
  void OnReadInitialMetadataDone(bool ok) override { headers_ = ok; }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    updates_.fetch_add(1);
    StartRead(&update_);
  }
  void OnDone(const grpc::Status& s) override {
    std::lock_guard lock(mu_);
    status_ = s;
    done_ = true;
  }

  // Open: the server sent its headers and has not ended the stream.
  bool open() {
    std::lock_guard lock(mu_);
    return headers_ && !done_;
  }
  bool done() {
    std::lock_guard lock(mu_);
    return done_;
  }
  grpc::Status status() {
    std::lock_guard lock(mu_);
    return status_;
  }
  int updates() const { return updates_.load(); }
  void Cancel() { ctx_.TryCancel(); }

 private:
  grpc::ClientContext ctx_;
  v1::SubscribeJourneyRequest request_;
  v1::JourneyUpdate update_;
  std::atomic<bool> headers_{false};
  std::atomic<int> updates_{0};
  std::mutex mu_;
  bool done_ = false;
  grpc::Status status_;
};

// Connections of their own, so the flood is spread as a client would.
std::vector<std::unique_ptr<v1::JourneyService::Stub>> Stubs(const std::string& address, int n) {
  std::vector<std::unique_ptr<v1::JourneyService::Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("threadline.test.channel", i);
    stubs.push_back(v1::JourneyService::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
  return stubs;
}

struct Tally {
  int open = 0, done = 0, refused_naming = 0;
};
Tally Count(std::vector<std::unique_ptr<Watcher>>& watchers, const std::string& flag) {
  Tally t;
  for (auto& w : watchers) {
    if (w->open()) ++t.open;
    if (!w->done()) continue;
    ++t.done;
    grpc::Status s = w->status();
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
        s.error_message().find(flag) != std::string::npos) {
      ++t.refused_naming;
    }
  }
  return t;
}

void CancelAndWait(std::vector<std::unique_ptr<Watcher>>& watchers) {
  for (auto& w : watchers) w->Cancel();
  ASSERT_TRUE(WaitFor(
      [&] {
        for (auto& w : watchers) {
          if (!w->done()) return false;
        }
        return true;
      },
      std::chrono::seconds(30)));
  watchers.clear();
}

TEST(Floods, FiveThousandStreamsFromOnePrincipalStayWithinTheLimits) {
  TempDir dir;
  const auto tokens = dir.path() / "tokens";
  WriteTokensFile(tokens,
                  {{kWallToken, "dashboard"}, {kOpsToken, "admin"}, {kSalesToken, "sales"}});
  SuiteProcess suite(
      (dir.path() / "data").string(),
      {"--tokens-file", tokens.string(), "--grpc-max-streams-per-principal",
       std::to_string(kPerPrincipal), "--grpc-max-streams", std::to_string(kPerServer)},
      (dir.path() / "suite.log").string());
  const int pid = suite.process()->pid();
  const ProcessUsage before = UsageOf(pid);
  ASSERT_GT(before.threads, 0);

  auto stubs = Stubs(suite.address(), 4);
  std::vector<std::unique_ptr<Watcher>> wall;
  wall.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    wall.push_back(std::make_unique<Watcher>(*stubs[i % stubs.size()], kWallToken));
  }
  // Every stream has its answer: open, or refused naming the per-principal
  // limit and its flag.
  Tally t;
  EXPECT_TRUE(WaitFor(
      [&] {
        t = Count(wall, "--grpc-max-streams-per-principal");
        return t.open == kPerPrincipal && t.refused_naming == kStreams - kPerPrincipal;
      },
      std::chrono::seconds(30)))
      << t.open << " open, " << t.done << " ended, " << t.refused_naming
      << " refused naming the limit";
  EXPECT_EQ(t.done, kStreams - kPerPrincipal);
  grpc::Status refused;
  for (auto& w : wall) {
    if (w->done()) {
      refused = w->status();
      break;
    }
  }
  EXPECT_EQ(refused.error_message(),
            "principal 'principal-0-dashboard' has 2000 streams open, the most "
            "--grpc-max-streams-per-principal allows (2000); close the streams it no longer "
            "reads");

  // 2,000 open streams cost the server no thread each: it runs about 30
  // threads, and the streams add at most 8 (gRPC's own executor grows a
  // little); memory grows by tens of kilobytes a stream (about 40 MiB for
  // the 2,000 here, with the 3,000 refused ones), bounded at 200 MiB.
  const ProcessUsage during = UsageOf(pid);
  EXPECT_LE(during.threads, before.threads + 8)
      << "threads: " << before.threads << " before the flood, " << during.threads << " during";
  EXPECT_LE(during.rss_kib, before.rss_kib + 200 * 1024)
      << "RSS: " << before.rss_kib << " KiB before, " << during.rss_kib << " KiB during";

  // Meanwhile a command and a health check answer within a second.
  const auto command_start = Clock::now();
  v1::RegisterCustomerResponse registered;
  grpc::Status s = suite.Sales()->RegisterCustomer(
      Ctx(kSalesToken).get(), NewCustomer("flood-1", "+31612300001"), &registered);
  const auto command_took = Clock::now() - command_start;
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(command_took, milliseconds(1000));
  const auto health_start = Clock::now();
  auto health = grpc::health::v1::Health::NewStub(suite.channel());
  grpc::health::v1::HealthCheckRequest hr;
  grpc::health::v1::HealthCheckResponse hs;
  s = health->Check(Ctx("", std::chrono::seconds(1)).get(), hr, &hs);
  const auto health_took = Clock::now() - health_start;
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(hs.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_LT(health_took, milliseconds(1000));

  // Every open stream gets the new customer's update.
  EXPECT_TRUE(WaitFor(
      [&] {
        int with_update = 0;
        for (auto& w : wall) with_update += w->open() && w->updates() == 1;
        return with_update == kPerPrincipal;
      },
      std::chrono::seconds(30)));

  // The server-wide limit holds for another principal: 500 more fit.
  std::vector<std::unique_ptr<Watcher>> ops;
  for (int i = 0; i < 600; ++i) {
    ops.push_back(std::make_unique<Watcher>(*stubs[i % stubs.size()], kOpsToken));
  }
  Tally o;
  EXPECT_TRUE(WaitFor([&] {
    o = Count(ops, "--grpc-max-streams ");
    return o.open == kPerServer - kPerPrincipal && o.refused_naming == 100;
  })) << o.open
      << " open, " << o.done << " ended, " << o.refused_naming << " refused";

  // The client goes: every stream's slot is free again at once, and the
  // server is back to its threads before the flood.
  CancelAndWait(wall);
  CancelAndWait(ops);
  std::vector<std::unique_ptr<Watcher>> again;
  for (int i = 0; i < kPerPrincipal; ++i) {
    again.push_back(std::make_unique<Watcher>(*stubs[i % stubs.size()], kWallToken));
  }
  EXPECT_TRUE(
      WaitFor([&] { return Count(again, "").open == kPerPrincipal; }, std::chrono::seconds(30)));
  CancelAndWait(again);
  const ProcessUsage after = UsageOf(pid);
  EXPECT_LE(after.threads, before.threads + 8);

  StopSuite(suite);
}

// What the HTTP listener answers on a fresh connection to `port` after
// `request` (nothing: only connect), until it closes or 5 s pass.
std::string HttpExchange(int port, const std::string& request, int* fd_kept = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  if (fd_kept != nullptr) {
    *fd_kept = fd;
    return "";
  }
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return got;
}

// The HTTP listener's limits come from their flags.
TEST(Floods, HttpListenerLimitsComeFromTheirFlags) {
  TempDir dir;
  const auto tokens = dir.path() / "tokens";
  WriteTokensFile(tokens, {{kWallToken, "dashboard"}});
  const int http_port = FreePort();
  SuiteProcess suite((dir.path() / "data").string(),
                     {"--tokens-file", tokens.string(), "--target", "journey,privacy",
                      "--http-listen", "127.0.0.1:" + std::to_string(http_port),
                      "--http-max-body-bytes", "1000", "--http-max-connections-per-ip", "1"},
                     (dir.path() / "suite.log").string());
  std::string got = HttpExchange(http_port,
                                 "POST /api/v1/journey/streams/drop HTTP/1.1\r\nHost: t\r\n"
                                 "Content-Length: 1001\r\n\r\n");
  EXPECT_EQ(got.substr(0, got.find("\r\n")), "HTTP/1.1 413 Payload Too Large") << got;
  EXPECT_NE(got.find("more than the 1000 that --http-max-body-bytes allows"), std::string::npos)
      << got;
  int held = -1;
  HttpExchange(http_port, "", &held);
  // The held connection is the address's one: the next is refused at once.
  EXPECT_TRUE(WaitFor([&] {
    return HttpExchange(http_port, "").find("--http-max-connections-per-ip") != std::string::npos;
  }));
  ::close(held);
  StopSuite(suite);
}

}  // namespace
}  // namespace threadline::testing
