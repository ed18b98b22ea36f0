#pragma once

// Runs `threadline serve` as a child process for end-to-end tests and gives
// typed gRPC stubs to it.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "threadline/testing/process.h"
#include "threadline/testing/testing.h"
#include "threadline/v1/billing.grpc.pb.h"
#include "threadline/v1/installation.grpc.pb.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/sales.grpc.pb.h"
#include "threadline/v1/support.grpc.pb.h"

namespace threadline::testing {

class SuiteProcess {
 public:
  // Starts `threadline serve` with `args` plus --listen on `port` (0: a
  // free one) and waits until the health service reports SERVING.
  SuiteProcess(const std::string& data_dir, std::vector<std::string> args,
               const std::string& log_path, int port = 0);
  ~SuiteProcess();

  // Starts again with the same arguments and port (after Kill()).
  void Restart();
  void Kill(int sig);
  bool WaitServing(std::chrono::milliseconds timeout);
  // What the health service says of `service` ("" for the whole server),
  // or UNKNOWN when the call fails.
  grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& service);
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return process_ ? process_->Log() : ""; }
  ChildProcess* process() { return process_.get(); }

  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  std::unique_ptr<v1::SalesService::Stub> Sales() { return v1::SalesService::NewStub(channel_); }
  std::unique_ptr<v1::JourneyService::Stub> Journey() {
    return v1::JourneyService::NewStub(channel_);
  }
  std::unique_ptr<v1::BillingService::Stub> Billing() {
    return v1::BillingService::NewStub(channel_);
  }
  std::unique_ptr<v1::InstallationService::Stub> Installation() {
    return v1::InstallationService::NewStub(channel_);
  }
  std::unique_ptr<v1::SupportService::Stub> Support() {
    return v1::SupportService::NewStub(channel_);
  }

 private:
  void Start();
  std::vector<std::string> argv_;
  std::string log_path_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

// The privacy target alone in its process on the Kafka bus `brokers`, with
// its data under dir/privacy and its log at dir/privacy.log: the key vault
// that every other process of a one-service-per-process deployment seals
// with. `args` are extra flags.
std::unique_ptr<SuiteProcess> StartPrivacyProcess(const std::filesystem::path& dir,
                                                  const std::string& brokers,
                                                  std::vector<std::string> args = {});

// `args` plus the flag that points a process at `privacy` for its keys.
std::vector<std::string> WithKeysFrom(const SuiteProcess& privacy, std::vector<std::string> args);

// An amount in euro cents, for requests.
inline v1::Money Eur(int64_t minor) {
  v1::Money m;
  m.set_amount_minor(minor);
  m.set_currency("EUR");
  return m;
}

// The wall-clock time `h` from now, for appointment slots and due dates.
inline google::protobuf::Timestamp FromNow(std::chrono::hours h) {
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         (std::chrono::system_clock::now() + h).time_since_epoch())
                         .count();
  google::protobuf::Timestamp t;
  t.set_seconds(ns / 1'000'000'000);
  t.set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  return t;
}

// GET http://127.0.0.1:port/path with HTTP/1.0 (the server closes the
// connection, so reading to EOF is the whole answer). Empty on any error.
std::string HttpGet(int port, const std::string& path);

// A client context with a deadline and, if given, a bearer token.
std::unique_ptr<grpc::ClientContext> Ctx(
    const std::string& token = "", std::chrono::milliseconds deadline = std::chrono::seconds(10));

// Runs `threadline ARGS...` (THREADLINE_BIN) to completion, logging to
// `log`; expects exit status 0 and returns its output.
std::string RunThreadline(const std::vector<std::string>& args, const std::string& log,
                          std::chrono::seconds timeout = std::chrono::seconds(180));

// Runs `threadline ARGS...` (THREADLINE_BIN), logging to `log`, until it
// exits or `timeout` passes (then it is SIGKILLed). Returns its wait status
// (-1 after a timeout) and, when given, fills `output` with its log.
int RunThreadlineStatus(const std::vector<std::string>& args, const std::string& log,
                        std::chrono::seconds timeout, std::string* output = nullptr);

// The last non-empty line of `text` (a command's answer after its logs).
std::string LastLine(const std::string& text);

// The journey at `live_path` (its process stopped) rebuilt from offset 0 of
// the department topics on `brokers` into DIR/rebuilt, and the fingerprints
// of `customers` in both, as `threadline journey fingerprint` prints them
// ("EVENTS:DIGEST"): {live, rebuilt}. Only the test's own customers, since
// other tests write to the same broker.
std::pair<std::string, std::string> LiveAndRebuiltFingerprints(
    const std::string& live_path, const std::filesystem::path& dir, const std::string& brokers,
    const std::string& privacy_address, const std::vector<std::string>& customers);

}  // namespace threadline::testing
