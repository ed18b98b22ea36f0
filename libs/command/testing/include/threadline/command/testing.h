#pragma once

// Fixtures shared by the department services' tests: the department's event
// store and the Env its commands run in, an embedded bus that plays another
// department's topics, and the service's gRPC face on a real loopback server.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threadline/bus/bus.h"
#include "threadline/command/runner.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/server/server.h"
#include "threadline/v1/envelope.pb.h"

namespace threadline::command::testing {

// A department's event store under `dir`/store and the Env over it. Without
// fsync: a test process is never killed mid-write.
struct TestDepartment {
  std::unique_ptr<eventstore::EventStore> store;
  Env env;
};
absl::StatusOr<TestDepartment> OpenTestDepartment(const std::filesystem::path& dir,
                                                  std::string service, v1::Department department,
                                                  const Clock* clock);

// An embedded bus under `dir`/bus with `topics` (three partitions each) and
// a publisher that puts envelopes on a topic as a department's relay does.
class TestBus {
 public:
  static absl::StatusOr<std::unique_ptr<TestBus>> Open(const std::filesystem::path& dir,
                                                       const std::vector<std::string>& topics);
  bus::Bus* bus() { return bus_.get(); }
  bus::Publisher* publisher() { return publisher_.get(); }
  absl::Status Publish(const v1::EventEnvelope& e, const std::string& topic);

 private:
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
};

// `service` on 127.0.0.1 and a free port, checking bearer tokens when a
// tokens file is given; shut down (one second's drain) when destroyed.
class TestServer {
 public:
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(grpc::Service* service,
                                                           const std::string& tokens_file = "");
  ~TestServer();
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  std::unique_ptr<server::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context with a ten-second deadline and, if given, a bearer token.
std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "");

}  // namespace threadline::command::testing
