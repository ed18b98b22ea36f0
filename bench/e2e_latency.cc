// bench_e2e: end-to-end latency from a command to the journey subscriber.
//
//   bench_e2e --sales 127.0.0.1:PORT --journey 127.0.0.1:PORT --rate 200 --seconds 30
//
// Subscribes to SubscribeJourney (every customer), then sends
// RegisterCustomer at a fixed rate (open loop: a schedule, not
// back-to-back, so a slow answer does not slow the load down) and matches
// each update to its command by customer_id. Reports, per command:
//   ack  -> received: the command was accepted (the client has its answer)
//            until the subscriber got the journey update;
//   send -> received: the same from the moment the client sent the command,
//            so it also includes the durable append;
//   send -> ack:      the command's own latency.

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "bench_common.h"
#include "threadline/common/ids.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/sales.grpc.pb.h"

namespace threadline::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Sent {
  Clock::time_point sent;
  Clock::time_point acked;
};

class Collector {
 public:
  void Acked(const std::string& customer, Sent s) {
    std::lock_guard lock(mu_);
    sent_[customer] = s;
  }
  void Received(const std::string& customer, Clock::time_point at) {
    std::lock_guard lock(mu_);
    received_.emplace(customer, at);  // the first update counts
    cv_.notify_all();
  }
  size_t ReceivedCount() {
    std::lock_guard lock(mu_);
    return received_.size();
  }
  // Waits until every acknowledged command's update arrived, or `deadline`.
  void WaitAll(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] {
      for (const auto& [c, s] : sent_) {
        if (!received_.count(c)) return false;
      }
      return true;
    });
  }
  std::unordered_map<std::string, Sent> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  std::unordered_map<std::string, Clock::time_point> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Sent> sent_;
  std::unordered_map<std::string, Clock::time_point> received_;
};

void AddAuth(grpc::ClientContext& ctx, const std::string& token) {
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
}

// One RegisterCustomer; returns the customer id or an empty string.
std::string Register(v1::SalesService::Stub& sales, const std::string& token, uint64_t n,
                     Collector* out) {
  v1::RegisterCustomerRequest r;
  r.set_request_id(NewUuidV7());
  r.set_channel(v1::CHANNEL_WEB);
  r.set_name("Latency Probe " + std::to_string(n));
  r.add_emails("probe-" + r.request_id() + "@example.net");
  r.set_preferred_channel(v1::CHANNEL_EMAIL);
  grpc::ClientContext ctx;
  AddAuth(ctx, token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::RegisterCustomerResponse resp;
  const auto sent = Clock::now();
  grpc::Status s = sales.RegisterCustomer(&ctx, r, &resp);
  const auto acked = Clock::now();
  if (!s.ok()) {
    std::cerr << "bench_e2e: RegisterCustomer: " << s.error_message() << "\n";
    return "";
  }
  if (out) out->Acked(resp.customer_id(), {sent, acked});
  return resp.customer_id();
}

void ReportSeries(const std::string& name, std::vector<double> ms) {
  Emit("e2e_" + name + "_p50_ms", Percentile(ms, 50));
  Emit("e2e_" + name + "_p99_ms", Percentile(ms, 99));
  Emit("e2e_" + name + "_p999_ms", Percentile(ms, 99.9));
  Emit("e2e_" + name + "_max_ms", ms.empty() ? 0.0 : ms.back());
}

int Run(int argc, char** argv) {
  CLI::App app{"bench_e2e: command accepted -> journey subscriber latency"};
  std::string sales_addr, journey_addr, token;
  double rate = 200;
  double seconds = 30;
  int workers = 8;
  app.add_option("--sales", sales_addr, "address of the sales service")->required();
  app.add_option("--journey", journey_addr, "address of the journey service")->required();
  app.add_option("--token", token, "bearer token, if the servers require one");
  app.add_option("--rate", rate, "commands per second")->capture_default_str();
  app.add_option("--seconds", seconds, "how long to send")->capture_default_str();
  app.add_option("--workers", workers, "sending threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto sales_channel = grpc::CreateChannel(sales_addr, grpc::InsecureChannelCredentials());
  auto journey_channel = grpc::CreateChannel(journey_addr, grpc::InsecureChannelCredentials());
  for (auto* ch : {sales_channel.get(), journey_channel.get()}) {
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
      std::cerr << "bench_e2e: cannot connect to the servers within 30 s\n";
      return 1;
    }
  }
  auto sales = v1::SalesService::NewStub(sales_channel);
  auto journey = v1::JourneyService::NewStub(journey_channel);

  Collector collector;
  grpc::ClientContext sub_ctx;
  AddAuth(sub_ctx, token);
  std::atomic<bool> stream_ended{false};
  std::string warm_customer;
  std::mutex warm_mu;
  std::atomic<bool> warm_seen{false};
  std::thread subscriber([&] {
    v1::SubscribeJourneyRequest req;
    auto reader = journey->SubscribeJourney(&sub_ctx, req);
    v1::JourneyUpdate u;
    while (reader->Read(&u)) {
      const auto at = Clock::now();
      collector.Received(u.entry().customer_id(), at);
      std::lock_guard lock(warm_mu);
      if (!warm_customer.empty() && u.entry().customer_id() == warm_customer) warm_seen = true;
    }
    grpc::Status s = reader->Finish();
    if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
      std::cerr << "bench_e2e: SubscribeJourney ended: " << s.error_message() << "\n";
    }
    stream_ended = true;
  });

  // Warm-up: commands until one comes back through the subscription, so the
  // subscription is live and every connection is up before measuring.
  const auto warm_deadline = Clock::now() + std::chrono::seconds(30);
  uint64_t warm_n = 0;
  while (!warm_seen && Clock::now() < warm_deadline && !stream_ended) {
    std::string c = Register(*sales, token, 1'000'000'000 + warm_n++, nullptr);
    if (c.empty() && warm_n >= 5) break;  // the commands themselves fail: no point waiting
    {
      std::lock_guard lock(warm_mu);
      warm_customer = c;
    }
    for (int i = 0; i < 20 && !warm_seen; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!warm_seen) {
    std::cerr << "bench_e2e: no journey update arrived within 30 s of warm-up\n";
    sub_ctx.TryCancel();
    subscriber.join();
    return 1;
  }

  const uint64_t total = static_cast<uint64_t>(rate * seconds);
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> late_starts{0};
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  std::vector<std::thread> senders;
  for (int w = 0; w < workers; ++w) {
    senders.emplace_back([&] {
      for (uint64_t i = next++; i < total; i = next++) {
        const auto slot =
            start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
        if (Clock::now() > slot + std::chrono::milliseconds(1)) ++late_starts;
        std::this_thread::sleep_until(slot);
        if (Register(*sales, token, i, &collector).empty()) ++errors;
      }
    });
  }
  for (auto& s : senders) s.join();
  const double send_secs = Seconds(Clock::now() - start);
  collector.WaitAll(Clock::now() + std::chrono::seconds(15));
  sub_ctx.TryCancel();
  subscriber.join();

  auto sent = collector.sent();
  auto received = collector.received();
  std::vector<double> ack_to_recv, send_to_recv, send_to_ack;
  uint64_t lost = 0;
  for (const auto& [customer, s] : sent) {
    send_to_ack.push_back(std::chrono::duration<double, std::milli>(s.acked - s.sent).count());
    auto it = received.find(customer);
    if (it == received.end()) {
      ++lost;
      continue;
    }
    // The update can overtake the answer to the client by a hair.
    ack_to_recv.push_back(
        std::max(0.0, std::chrono::duration<double, std::milli>(it->second - s.acked).count()));
    send_to_recv.push_back(std::chrono::duration<double, std::milli>(it->second - s.sent).count());
  }
  Emit("e2e_commands", static_cast<uint64_t>(sent.size()));
  Emit("e2e_errors", errors.load());
  Emit("e2e_not_received", lost);
  Emit("e2e_late_starts", late_starts.load());
  Emit("e2e_achieved_rate", static_cast<double>(sent.size()) / send_secs);
  ReportSeries("ack_to_received", ack_to_recv);
  ReportSeries("send_to_received", send_to_recv);
  ReportSeries("send_to_ack", send_to_ack);
  return lost == 0 && errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace threadline::bench

int main(int argc, char** argv) { return threadline::bench::Run(argc, argv); }
