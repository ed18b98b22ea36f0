// grpcurl — a gRPC client nobody here wrote — against the real binary: it
// discovers the five services and the health service through reflection,
// checks health and calls a command from JSON, with no .proto file of ours
// (label e2e).

#include <sys/wait.h>

#include <cstdio>

#include "slice_test_body.h"

namespace threadline::testing {
namespace {

// Installs grpcurl from the Go module proxy if needed (scripts/tools).
std::string GrpcurlPath() {
  std::string cmd = std::string(SOURCE_DIR) + "/scripts/tools grpcurl 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  char buf[4096];
  std::string out;
  while (fgets(buf, sizeof(buf), p)) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

class Grpcurl : public ::testing::Test {
 protected:
  void SetUp() override {
    grpcurl_ = GrpcurlPath();
    ASSERT_FALSE(grpcurl_.empty()) << "could not install grpcurl with scripts/tools";
    suite_ =
        std::make_unique<SuiteProcess>((dir_.path() / "data").string(), std::vector<std::string>{},
                                       (dir_.path() / "threadline.log").string());
  }
  std::pair<int, std::string> Run(std::vector<std::string> args) {
    std::vector<std::string> argv{grpcurl_, "-plaintext"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, (dir_.path() / ("grpcurl-" + std::to_string(++runs_))).string());
    int status = p.Wait(std::chrono::seconds(30));
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, p.Log()};
  }
  TempDir dir_;
  std::string grpcurl_;
  std::unique_ptr<SuiteProcess> suite_;
  int runs_ = 0;
};

TEST_F(Grpcurl, ListsTheFiveServicesAndHealth) {
  auto [status, out] = Run({suite_->address(), "list"});
  ASSERT_EQ(status, 0) << out;
  for (const char* service : {"threadline.v1.SalesService", "threadline.v1.InstallationService",
                              "threadline.v1.SupportService", "threadline.v1.BillingService",
                              "threadline.v1.JourneyService", "grpc.health.v1.Health"}) {
    EXPECT_NE(out.find(service), std::string::npos) << service << " missing from:\n" << out;
  }
}

// No -proto or -import-path: grpcurl learns grpc.health.v1 from reflection.
TEST_F(Grpcurl, ChecksHealthWithNoProtoFile) {
  auto [status, out] = Run({suite_->address(), "grpc.health.v1.Health/Check"});
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\"status\": \"SERVING\""), std::string::npos) << out;

  auto [describe_status, described] = Run({suite_->address(), "describe", "grpc.health.v1.Health"});
  ASSERT_EQ(describe_status, 0) << described;
  EXPECT_NE(described.find("rpc Check ( .grpc.health.v1.HealthCheckRequest )"), std::string::npos)
      << described;
}

TEST_F(Grpcurl, CallsACommandFromJsonAndGetsPreciseErrors) {
  auto [status, out] =
      Run({"-d",
           R"({"request_id":"grpcurl-1","channel":"CHANNEL_WEB","name":"Carla Smit",)"
           R"("emails":["carla@example.org"],"preferred_channel":"CHANNEL_EMAIL"})",
           suite_->address(), "threadline.v1.SalesService/RegisterCustomer"});
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\"customer_id\": \"cus_"), std::string::npos) << out;

  auto [bad_status, bad] = Run({"-d",
                                R"({"request_id":"grpcurl-2","channel":"CHANNEL_WEB","name":"X",)"
                                R"("emails":["not-an-email"],"preferred_channel":"CHANNEL_EMAIL"})",
                                suite_->address(), "threadline.v1.SalesService/RegisterCustomer"});
  EXPECT_NE(bad_status, 0);
  EXPECT_NE(bad.find("InvalidArgument"), std::string::npos) << bad;
  EXPECT_NE(bad.find("emails[0]"), std::string::npos) << bad;
}

}  // namespace
}  // namespace threadline::testing
