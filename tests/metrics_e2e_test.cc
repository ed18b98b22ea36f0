// The metrics endpoint as an operator sees it (label e2e): `threadline serve
// --metrics-listen` scraped every second by a real Prometheus server, and
// the values read back through Prometheus's query API. Also checks that
// health reports each service and that JSON logs carry the correlation id.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "slice_test_body.h"

namespace threadline::testing {
namespace {

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// The value of a PromQL query that yields at most one sample; nullopt when
// it yields none (the series does not exist yet) or Prometheus is not up.
std::optional<double> Query(int prometheus_port, const std::string& promql) {
  std::string body = HttpGet(prometheus_port, "/api/v1/query?query=" + UrlEncode(promql));
  auto at = body.find("\"value\":[");
  if (body.find("\"status\":\"success\"") == std::string::npos || at == std::string::npos) {
    return std::nullopt;
  }
  auto open = body.find('"', body.find(',', at));
  auto close = body.find('"', open + 1);
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  return std::strtod(body.substr(open + 1, close - open - 1).c_str(), nullptr);
}

std::string PrometheusBinary() {
  const char* env = std::getenv("PROMETHEUS_BIN");
  return env && *env ? env : "/usr/bin/prometheus";
}

class MetricsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(PrometheusBinary())) {
      GTEST_FAIL() << "no Prometheus at " << PrometheusBinary()
                   << " (scripts/setup installs Debian's 'prometheus')";
    }
    metrics_port_ = FreePort();
    // Set through the environment, as Kubernetes does: json goes to stdout.
    setenv("THREADLINE_LOG_FORMAT", "json", 1);
    setenv("THREADLINE_METRICS_LISTEN", ("127.0.0.1:" + std::to_string(metrics_port_)).c_str(), 1);
    suite_ =
        std::make_unique<SuiteProcess>((dir_.path() / "data").string(), std::vector<std::string>{},
                                       (dir_.path() / "threadline.log").string());
    unsetenv("THREADLINE_LOG_FORMAT");
    unsetenv("THREADLINE_METRICS_LISTEN");

    prometheus_port_ = FreePort();
    std::string config = (dir_.path() / "prometheus.yml").string();
    std::ofstream(config) << "global:\n"
                          << "  scrape_interval: 1s\n"
                          << "  evaluation_interval: 1s\n"
                          << "scrape_configs:\n"
                          << "  - job_name: threadline\n"
                          << "    static_configs:\n"
                          << "      - targets: ['127.0.0.1:" << metrics_port_ << "']\n";
    prometheus_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            PrometheusBinary(), "--config.file=" + config,
            "--storage.tsdb.path=" + (dir_.path() / "tsdb").string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_)},
        (dir_.path() / "prometheus.log").string());
  }

  // Waits until Prometheus returns `want` for `promql` (scrapes are 1 s
  // apart, so a value can take a few seconds to arrive).
  void ExpectEventually(const std::string& promql, double want) {
    std::optional<double> got;
    bool ok = WaitFor(
        [&] {
          got = Query(prometheus_port_, promql);
          return got && *got == want;
        },
        std::chrono::seconds(20));
    EXPECT_TRUE(ok) << promql << " = " << (got ? std::to_string(*got) : "(no sample)") << ", want "
                    << want << "\nprometheus log:\n"
                    << prometheus_->Log();
  }

  TempDir dir_;
  int metrics_port_ = 0;
  int prometheus_port_ = 0;
  std::unique_ptr<SuiteProcess> suite_;
  std::unique_ptr<ChildProcess> prometheus_;
};

TEST_F(MetricsE2E, PrometheusSeesCommandsLagBacklogAndSubscribers) {
  // A live journey subscriber for the subscribers gauge.
  grpc::ClientContext sub_ctx;
  v1::SubscribeJourneyRequest sub_req;
  auto reader = suite_->Journey()->SubscribeJourney(&sub_ctx, sub_req);

  constexpr int kCustomers = 3;
  for (int i = 0; i < kCustomers; ++i) {
    auto ctx = Ctx();
    ctx->AddMetadata("x-correlation-id", "corr-metrics-" + std::to_string(i));
    v1::RegisterCustomerResponse resp;
    auto s = suite_->Sales()->RegisterCustomer(
        ctx.get(), NewCustomer("metrics-" + std::to_string(i), "+3161234000" + std::to_string(i)),
        &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // The same phone number again: refused, and counted under its code.
  v1::RegisterCustomerResponse resp;
  auto s = suite_->Sales()->RegisterCustomer(Ctx().get(),
                                             NewCustomer("metrics-dup", "+31612340000"), &resp);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();

  const std::string sales = "service=\"threadline.v1.SalesService\",method=\"RegisterCustomer\"";
  ExpectEventually("sum(threadline_grpc_requests_total{" + sales + ",code=\"OK\"})", kCustomers);
  ExpectEventually("sum(threadline_grpc_requests_total{" + sales + ",code=\"ALREADY_EXISTS\"})", 1);
  ExpectEventually("sum(threadline_grpc_request_duration_seconds_count{" + sales + "})",
                   kCustomers + 1);
  ExpectEventually("sum(threadline_journey_projected_total)", kCustomers);
  ExpectEventually("sum(threadline_journey_end_to_end_seconds_count)", kCustomers);
  ExpectEventually("sum(threadline_journey_events_total{type=\"CustomerRegistered\"})", kCustomers);
  ExpectEventually("sum(threadline_consumer_lag_messages{consumer=\"journey\"})", 0);
  ExpectEventually("count(threadline_consumer_lag_messages{consumer=\"journey\"}) > bool 0", 1);
  ExpectEventually("sum(threadline_outbox_backlog_events{department=\"sales\"})", 0);
  ExpectEventually(
      "sum(threadline_eventstore_append_duration_seconds_count{department=\"sales\"}) >= bool 3",
      1);
  ExpectEventually("sum(threadline_journey_dead_lettered_total)", 0);
  ExpectEventually("sum(threadline_duplicates_dropped_total{consumer=\"journey\"})", 0);
  ExpectEventually("sum(threadline_journey_subscribers)", 1);
  ExpectEventually("sum(threadline_service_serving{service=\"threadline.v1.SalesService\"})", 1);
  ExpectEventually("sum(threadline_bus_reachable)", 1);

  sub_ctx.TryCancel();
  v1::JourneyUpdate update;
  while (reader->Read(&update)) {
  }
  ExpectEventually("sum(threadline_journey_subscribers)", 0);

  // Readiness per service on the standard health service.
  auto health = grpc::health::v1::Health::NewStub(suite_->channel());
  for (const char* service : {"threadline.v1.SalesService", "threadline.v1.JourneyService"}) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse hr;
    auto hs = health->Check(Ctx().get(), req, &hr);
    ASSERT_TRUE(hs.ok()) << service << ": " << hs.error_message();
    EXPECT_EQ(hr.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }

  // JSON logs, one object per line, with the correlation id of the command.
  std::string log = suite_->Log();
  EXPECT_NE(log.find("\"msg\":\"command handled\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"correlation_id\":\"corr-metrics-1\""), std::string::npos) << log;
}

}  // namespace
}  // namespace threadline::testing
