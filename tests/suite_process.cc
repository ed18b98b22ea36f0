#include "suite_process.h"

#include <arpa/inet.h>
#include <grpcpp/health_check_service_interface.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include "grpc/health/v1/health.grpc.pb.h"

namespace threadline::testing {

SuiteProcess::SuiteProcess(const std::string& data_dir, std::vector<std::string> args,
                           const std::string& log_path, int port)
    : log_path_(log_path), port_(port != 0 ? port : FreePort()) {
  argv_ = {BinaryFromEnv("THREADLINE_BIN"),     "serve", "--data-dir", data_dir, "--listen",
           "127.0.0.1:" + std::to_string(port_)};
  argv_.insert(argv_.end(), args.begin(), args.end());
  Start();
}

SuiteProcess::~SuiteProcess() {
  channel_.reset();
  if (process_ && process_->running()) {
    process_->Kill(SIGTERM);
    if (process_->Wait(std::chrono::seconds(20)) < 0) process_->Kill(SIGKILL);
  }
}

void SuiteProcess::Start() {
  process_ = std::make_unique<ChildProcess>(argv_, log_path_);
  // Connect only once the server says it listens: a channel that failed to
  // connect backs off for seconds before it tries again.
  bool listening = WaitFor(
      [&] {
        return !process_->running() ||
               process_->Log().find("listening on port") != std::string::npos;
      },
      std::chrono::seconds(60));
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  if (!listening || !WaitServing(std::chrono::seconds(30))) {
    ADD_FAILURE() << "threadline did not become SERVING; log:\n" << process_->Log();
  }
}

void SuiteProcess::Restart() { Start(); }

std::unique_ptr<SuiteProcess> StartPrivacyProcess(const std::filesystem::path& dir,
                                                  const std::string& brokers,
                                                  std::vector<std::string> args) {
  std::vector<std::string> argv{"--target", "privacy", "--kafka-brokers", brokers};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<SuiteProcess>((dir / "privacy").string(), argv,
                                        (dir / "privacy.log").string());
}

std::vector<std::string> WithKeysFrom(const SuiteProcess& privacy, std::vector<std::string> args) {
  args.push_back("--privacy-address");
  args.push_back(privacy.address());
  return args;
}

void SuiteProcess::Kill(int sig) { process_->Kill(sig); }

bool SuiteProcess::WaitServing(std::chrono::milliseconds timeout) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  return WaitFor(
      [&] {
        if (!process_->running()) return false;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        grpc::health::v1::HealthCheckRequest req;
        grpc::health::v1::HealthCheckResponse resp;
        auto s = health->Check(&ctx, req, &resp);
        return s.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      timeout);
}

grpc::health::v1::HealthCheckResponse::ServingStatus SuiteProcess::Health(
    const std::string& service) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  auto s = health->Check(Ctx("", std::chrono::seconds(2)).get(), req, &resp);
  return s.ok() ? resp.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token,
                                         std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

std::string RunThreadline(const std::vector<std::string>& args, const std::string& log,
                          std::chrono::seconds timeout) {
  std::vector<std::string> argv{BinaryFromEnv("THREADLINE_BIN")};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, log);
  const int status = p.Wait(timeout);
  EXPECT_EQ(status, 0) << p.Log();
  return p.Log();
}

int RunThreadlineStatus(const std::vector<std::string>& args, const std::string& log,
                        std::chrono::seconds timeout, std::string* output) {
  std::vector<std::string> argv{BinaryFromEnv("THREADLINE_BIN")};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, log);
  const int status = p.Wait(timeout);
  if (status == -1) p.Kill(SIGKILL);
  if (output != nullptr) *output = p.Log();
  return status;
}

std::string LastLine(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  auto start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return text.substr(start, end - start + 1);
}

std::pair<std::string, std::string> LiveAndRebuiltFingerprints(
    const std::string& live_path, const std::filesystem::path& dir, const std::string& brokers,
    const std::string& privacy_address, const std::vector<std::string>& customers) {
  const std::string rebuilt = (dir / "rebuilt").string();
  RunThreadline({"journey", "rebuild", "--out", rebuilt, "--kafka-brokers", brokers, "--data-dir",
                 (dir / "scratch").string(), "--privacy-address", privacy_address},
                (dir / "rebuild.log").string());
  auto fingerprint = [&](const std::string& path, const std::string& log) {
    std::vector<std::string> args = {
        "journey", "fingerprint",       "--path",       path, "--kafka-brokers",
        brokers,   "--privacy-address", privacy_address};
    for (const auto& customer : customers) {
      args.push_back("--customer");
      args.push_back(customer);
    }
    return LastLine(RunThreadline(args, (dir / log).string()));
  };
  return {fingerprint(live_path, "fp-live.log"), fingerprint(rebuilt, "fp-rebuilt.log")};
}

}  // namespace threadline::testing
