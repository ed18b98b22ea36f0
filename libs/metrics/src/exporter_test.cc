#include "threadline/metrics/exporter.h"

#include <gtest/gtest.h>

#include "threadline/metrics/build_info.h"

namespace threadline::metrics {
namespace {

TEST(ExporterTest, RendersEveryComponentWithPrometheusNames) {
  server::ServerStats server;
  server.Record("/threadline.v1.SalesService/RegisterCustomer", 0, std::chrono::milliseconds(3));
  server.Record("/threadline.v1.SalesService/RegisterCustomer", 0, std::chrono::milliseconds(3));
  server.Record("/threadline.v1.SalesService/RegisterCustomer", 6, std::chrono::milliseconds(1));
  server.StreamOpened();
  server.StreamOpened();
  server.StreamClosed();
  server.StreamRefused(/*per_principal=*/true);
  server.StreamRefused(/*per_principal=*/false);
  server.StreamRefused(/*per_principal=*/false);
  server.StreamWriteTimedOut();
  LatencyHistogram append;
  append.Observe(std::chrono::microseconds(700));
  SuiteSample sample;
  DepartmentSample d;
  d.department = "sales";
  d.relay.last_position = 10;
  d.relay.cursor = 7;
  d.append_latency = append.Snapshot();
  sample.departments.push_back(d);
  sample.consumers.push_back({"journey", "threadline.sales.v1", 2, 5});
  sample.consumer_totals.push_back({"journey", 4, 0});
  sample.consumer_totals.push_back({"billing.reactions", 0, 1, 6});
  sample.key_cache = KeyCacheSample{41, 2};
  sample.journey = JourneySample{12, 1, 2, {}, {{"SlaBreached", 3}}, 7};
  sample.serving = {{"threadline.v1.SalesService", true}};

  ExporterOptions o;
  o.listen = "127.0.0.1:0";
  auto exporter = Exporter::Start(o, &server, [&] { return sample; });
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  EXPECT_GT((*exporter)->port(), 0);
  std::string text = (*exporter)->Render();

  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
  };
  has("threadline_grpc_requests_total{service=\"threadline.v1.SalesService\",method="
      "\"RegisterCustomer\",code=\"OK\"} 2");
  has("code=\"ALREADY_EXISTS\"} 1");
  has("threadline_grpc_request_duration_seconds_count{service=\"threadline.v1.SalesService\","
      "method=\"RegisterCustomer\"} 3");
  has("threadline_outbox_backlog_events{department=\"sales\"} 3");
  has("threadline_eventstore_append_duration_seconds_bucket{department=\"sales\",le=\"0.001\"} 1");
  has("threadline_consumer_lag_messages{consumer=\"journey\",topic=\"threadline.sales.v1\","
      "partition=\"2\"} 5");
  has("threadline_duplicates_dropped_total{consumer=\"journey\"} 4");
  has("threadline_journey_dead_lettered_total 1");
  has("threadline_journey_updates_dead_lettered_total 7");
  has("threadline_consumer_invalid_total{consumer=\"billing.reactions\"} 6");
  has("threadline_consumer_errors_total{consumer=\"billing.reactions\"} 1");
  has("threadline_key_cache_keys 41");
  has("threadline_key_cache_erasures_total 2");
  has("threadline_journey_subscribers 2");
  has("threadline_grpc_streams_open 1");
  has("threadline_grpc_streams_refused_total{limit=\"principal\"} 1");
  has("threadline_grpc_streams_refused_total{limit=\"server\"} 2");
  has("threadline_grpc_stream_write_timeouts_total 1");
  has("threadline_journey_events_total{type=\"SlaBreached\"} 3");
  has("threadline_journey_end_to_end_seconds_count 0");
  has("threadline_service_serving{service=\"threadline.v1.SalesService\"} 1");
}

TEST(ExporterTest, RendersStoreWritesAndFreeSpace) {
  SuiteSample sample;
  StoreHealth full;
  full.writable = false;
  full.write_errors = 7;
  full.recoveries = 1;
  sample.stores = {{"sales", full}, {"bus", StoreHealth{}}};
  sample.data_dir = DiskSpace{4096, 16 << 20};
  ExporterOptions o;
  o.listen = "127.0.0.1:0";
  auto exporter = Exporter::Start(o, nullptr, [&] { return sample; });
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  std::string text = (*exporter)->Render();
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
  };
  has("threadline_store_writable{store=\"sales\"} 0");
  has("threadline_store_writable{store=\"bus\"} 1");
  has("threadline_store_write_errors_total{store=\"sales\"} 7");
  has("threadline_store_recoveries_total{store=\"sales\"} 1");
  has("threadline_data_dir_free_bytes 4096");
  has("threadline_data_dir_size_bytes 16777216");

  // No data directory read: no free-space series rather than a false 0.
  sample.data_dir.reset();
  text = (*exporter)->Render();
  EXPECT_EQ(text.find("threadline_data_dir_free_bytes"), std::string::npos) << text;
}

TEST(ExporterTest, RendersThePolicyInForceAndItsReloads) {
  SuiteSample sample;
  sample.policy = PolicySample{std::string(64, 'a'), 2, 1, 3};
  ExporterOptions o;
  o.listen = "127.0.0.1:0";
  auto exporter = Exporter::Start(o, nullptr, [&] { return sample; });
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  const std::string text = (*exporter)->Render();
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
  };
  has("threadline_policy_info{digest=\"" + std::string(64, 'a') + "\"} 1");
  has("threadline_policy_reloads_total{result=\"applied\"} 2");
  has("threadline_policy_reloads_total{result=\"unchanged\"} 1");
  has("threadline_policy_reloads_total{result=\"refused\"} 3");
}

TEST(ExporterTest, RendersWhatBinaryThisIs) {
  SuiteSample sample;
  ExporterOptions o;
  o.listen = "127.0.0.1:0";
  auto exporter = Exporter::Start(o, nullptr, [&] { return sample; });
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  const std::string text = (*exporter)->Render();
  EXPECT_FALSE(BuildVersion().empty());
  EXPECT_FALSE(BuildCommit().empty());
  const std::string line = "threadline_build_info{version=\"" + std::string(BuildVersion()) +
                           "\",commit=\"" + std::string(BuildCommit()) + "\"} 1";
  EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
}

TEST(ExporterTest, AddressInUseIsUnavailable) {
  ExporterOptions o;
  o.listen = "127.0.0.1:0";
  auto first = Exporter::Start(o, nullptr, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  o.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = Exporter::Start(o, nullptr, nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

}  // namespace
}  // namespace threadline::metrics
