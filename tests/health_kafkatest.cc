// Readiness follows Kafka (label kafka): a department reports NOT_SERVING on
// the standard health service while the broker is gone, and SERVING again
// once it is back, while the overall status (liveness) stays SERVING.
// Stops and restarts the shared broker, so it runs alone (RUN_SERIAL).

#include <cstdlib>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "suite_process.h"

namespace threadline::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

int RunScript(const std::string& args) {
  const std::string command =
      std::string("'") + std::getenv("THREADLINE_KAFKA_SCRIPT") + "' " + args + " >&2";
  return std::system(command.c_str());
}

TEST(HealthKafkaTest, DepartmentIsNotReadyWhileKafkaIsGone) {
  const char* dir = std::getenv("THREADLINE_KAFKA_DIR");
  if (dir == nullptr || std::getenv("THREADLINE_KAFKA_SCRIPT") == nullptr) {
    GTEST_FAIL() << "run through ctest -L kafka (needs THREADLINE_KAFKA_DIR/_SCRIPT)";
  }
  TempDir tmp;
  SuiteProcess suite((tmp.path() / "data").string(),
                     {"--target", "sales,privacy", "--kafka-brokers", KafkaBootstrapForTests()},
                     (tmp.path() / "threadline.log").string());
  const std::string sales = "threadline.v1.SalesService";
  ASSERT_TRUE(WaitFor([&] { return suite.Health(sales) == HealthCheckResponse::SERVING; },
                      std::chrono::seconds(30)))
      << suite.Log();

  ASSERT_EQ(RunScript(std::string("stop '") + dir + "'"), 0);
  bool not_serving =
      WaitFor([&] { return suite.Health(sales) == HealthCheckResponse::NOT_SERVING; },
              std::chrono::seconds(90));
  // Liveness: the process itself is fine and must not be restarted.
  HealthCheckResponse::ServingStatus overall = suite.Health("");
  ASSERT_EQ(RunScript(std::string("start '") + dir + "'"), 0);
  EXPECT_TRUE(not_serving) << suite.Log();
  EXPECT_EQ(overall, HealthCheckResponse::SERVING);

  EXPECT_TRUE(WaitFor([&] { return suite.Health(sales) == HealthCheckResponse::SERVING; },
                      std::chrono::seconds(90)))
      << suite.Log();
}

}  // namespace
}  // namespace threadline::testing
