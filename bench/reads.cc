// bench_reads: server-side latency of the agent's two screen-pop queries,
// Projector::GetTimeline and Projector::GetCustomerContext, called in
// process on a journey store that a replay filled.
//
//   bench_reads --bus kafka:127.0.0.1:9092 --store DIR --manifest FILE
//
// For each heavy customer of the manifest (1,000 events each) it reads the
// first timeline page (50 entries, the default), a full page of 500, and
// the context card, round-robin over the customers, and reports
// percentiles per query; then the context card of ordinary customers from
// the manifest's sample, each read once (the screen pop of a random caller,
// likely not in the block cache).

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench_common.h"
#include "threadline/journey/projector.h"

namespace threadline::bench {
namespace {

struct Series {
  std::string name;
  std::vector<double> us;
};

void Report(Series& s) {
  std::vector<double> v = s.us;
  Emit("reads_" + s.name + "_samples", static_cast<uint64_t>(v.size()));
  Emit("reads_" + s.name + "_p50_us", Percentile(v, 50));
  Emit("reads_" + s.name + "_p99_us", Percentile(v, 99));
  Emit("reads_" + s.name + "_p999_us", Percentile(v, 99.9));
  Emit("reads_" + s.name + "_max_us", v.empty() ? 0.0 : v.back());
}

int Run(int argc, char** argv) {
  CLI::App app{"bench_reads: timeline and context-card latency"};
  std::string bus_spec, store, manifest;
  int iterations = 2000;
  bool compact_first = false;
  app.add_option("--bus", bus_spec, "kafka:HOST:PORT or embedded:DIR (the replay's)")->required();
  app.add_option("--store", store, "journey store filled by bench_replay")->required();
  app.add_option("--manifest", manifest, "bench_fill's manifest")->required();
  app.add_option("--iterations", iterations, "reads of each kind")->capture_default_str();
  app.add_flag("--compact-first", compact_first,
               "first compact the store fully (as a server that has been running a while "
               "would have it) and report its size");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> heavy, ordinary;
  std::ifstream in(manifest);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind, id;
    ls >> kind >> id;
    if (kind == "heavy") heavy.push_back(id);
    if (kind == "ordinary") ordinary.push_back(id);
  }
  if (heavy.empty()) {
    std::cerr << "bench_reads: no heavy customer in " << manifest << "\n";
    return 2;
  }
  if (compact_first) {
    // Right after a rebuild, RocksDB is still compacting in the background
    // and every read merges many level-0 files: not the steady state of a
    // serving replica, and noisy. Compact first, then measure.
    if (auto s = CompactDatabase(store); !s.ok()) {
      std::cerr << "bench_reads: " << s << "\n";
      return 1;
    }
    Emit("journey_store_compacted_bytes", DirBytes(store));
  }
  auto bus = OpenBus(bus_spec);
  if (!bus.ok()) {
    std::cerr << "bench_reads: " << bus.status() << "\n";
    return 1;
  }
  journey::ProjectorOptions po;
  po.path = store;
  po.publish = false;
  auto projector = journey::Projector::Open(po, bus->get());
  if (!projector.ok()) {
    std::cerr << "bench_reads: " << projector.status() << "\n";
    return 1;
  }
  journey::Projector& p = **projector;

  // Every heavy customer's whole timeline, paged: proves the store holds
  // what the fill published, and warms the cache as a busy server's would be.
  uint64_t heavy_entries = 0;
  for (const auto& c : heavy) {
    v1::GetTimelineRequest r;
    r.set_customer_id(c);
    r.set_page_size(500);
    while (true) {
      auto page = p.GetTimeline(r);
      if (!page.ok()) {
        std::cerr << "bench_reads: " << page.status() << "\n";
        return 1;
      }
      heavy_entries += static_cast<uint64_t>(page->entries_size());
      if (page->next_page_token().empty()) break;
      r.set_page_token(page->next_page_token());
    }
  }
  Emit("reads_heavy_customers", static_cast<uint64_t>(heavy.size()));
  Emit("reads_heavy_entries_per_customer", heavy_entries / heavy.size());

  Series page50{"timeline_page50", {}}, page500{"timeline_page500", {}}, card{"context_heavy", {}},
      cold{"context_ordinary", {}};
  using Clock = std::chrono::steady_clock;
  size_t bytes = 0;  // keeps the results observable
  for (int i = 0; i < iterations; ++i) {
    const std::string& c = heavy[static_cast<size_t>(i) % heavy.size()];
    v1::GetTimelineRequest r;
    r.set_customer_id(c);
    auto t0 = Clock::now();
    auto a = p.GetTimeline(r);
    auto t1 = Clock::now();
    r.set_page_size(500);
    auto b = p.GetTimeline(r);
    auto t2 = Clock::now();
    auto k = p.GetCustomerContext(c);
    auto t3 = Clock::now();
    if (!a.ok() || !b.ok() || !k.ok()) {
      std::cerr << "bench_reads: a read failed\n";
      return 1;
    }
    bytes += a->ByteSizeLong() + b->ByteSizeLong() + k->ByteSizeLong();
    page50.us.push_back(Micros(t1 - t0));
    page500.us.push_back(Micros(t2 - t1));
    card.us.push_back(Micros(t3 - t2));
  }
  for (const auto& c : ordinary) {
    auto t0 = Clock::now();
    auto k = p.GetCustomerContext(c);
    auto t1 = Clock::now();
    if (!k.ok()) {
      std::cerr << "bench_reads: " << k.status() << "\n";
      return 1;
    }
    bytes += k->ByteSizeLong();
    cold.us.push_back(Micros(t1 - t0));
  }
  Emit("reads_bytes_returned", static_cast<uint64_t>(bytes));
  for (Series* s : {&page50, &page500, &card, &cold}) Report(*s);
  return 0;
}

}  // namespace
}  // namespace threadline::bench

int main(int argc, char** argv) { return threadline::bench::Run(argc, argv); }
