// bench_replay: rebuilds the journey projection from the department topics
// into a fresh store, as `threadline journey rebuild` does, and reports
// events per second, the projector's peak RSS and the store's size.
//
//   bench_replay --bus kafka:127.0.0.1:9092 --out DIR [--compact] [--vault DIR]
//
// With --vault (the vault bench_fill --vault sealed the events with) the
// projector opens every sealed field and seals its own store, as the suite
// runs it.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "bench_common.h"
#include "threadline/journey/projector.h"

namespace threadline::bench {
namespace {

int Run(int argc, char** argv) {
  CLI::App app{"bench_replay: rebuild the journey projection and time it"};
  std::string bus_spec, out;
  size_t batch_size = 0;
  bool compact = false;
  std::string vault_dir;
  app.add_option("--bus", bus_spec, "kafka:HOST:PORT or embedded:DIR")->required();
  app.add_option("--out", out, "fresh directory for the journey store")->required();
  app.add_option("--batch-size", batch_size, "ProjectorOptions::batch_size (0: the default)");
  app.add_flag("--compact", compact, "also report the size after a full compaction");
  app.add_option("--vault", vault_dir, "open sealed events with the key vault in this directory");
  CLI11_PARSE(app, argc, argv);
  if (std::filesystem::exists(out) && !std::filesystem::is_empty(out)) {
    std::cerr << "bench_replay: " << out << " is not empty\n";
    return 2;
  }
  auto bus = OpenBus(bus_spec);
  if (!bus.ok()) {
    std::cerr << "bench_replay: " << bus.status() << "\n";
    return 1;
  }
  auto keys = OpenBenchKeys(vault_dir, /*read_only=*/true);
  if (!keys.ok()) {
    std::cerr << "bench_replay: " << keys.status() << "\n";
    return 1;
  }
  journey::ProjectorOptions po;
  po.path = out;
  po.keys = keys->get();
  po.publish = false;  // a rebuild does not republish the journey
  if (batch_size > 0) po.batch_size = batch_size;
  const auto start = std::chrono::steady_clock::now();
  auto projector = journey::Projector::Open(po, bus->get());
  if (!projector.ok()) {
    std::cerr << "bench_replay: " << projector.status() << "\n";
    return 1;
  }
  uint64_t total = 0;
  if (auto s = (*projector)->CatchUp([&](uint64_t, uint64_t t) { total = t; }); !s.ok()) {
    std::cerr << "bench_replay: " << s << "\n";
    return 1;
  }
  const double secs = Seconds(std::chrono::steady_clock::now() - start);
  const auto stats = (*projector)->Stats();
  const uint64_t rss = MaxRssBytes();
  projector->reset();  // closes the store
  Emit("replay_messages", stats.consumed);
  Emit("replay_entries", stats.projected);
  Emit("replay_duplicates", stats.duplicates);
  Emit("replay_dead_lettered", stats.dead_lettered);
  Emit("replay_refolds", stats.refolds);
  Emit("replay_seconds", secs);
  Emit("replay_events_per_second", static_cast<double>(stats.consumed) / secs);
  Emit("replay_max_rss_bytes", rss);
  const uint64_t bytes = DirBytes(out);
  Emit("journey_store_bytes", bytes);
  Emit("journey_store_bytes_per_event",
       static_cast<double>(bytes) / static_cast<double>(std::max<uint64_t>(stats.projected, 1)));
  if (compact) {
    if (auto s = CompactDatabase(out); !s.ok()) {
      std::cerr << "bench_replay: " << s << "\n";
      return 1;
    }
    const uint64_t compacted = DirBytes(out);
    Emit("journey_store_compacted_bytes", compacted);
    Emit("journey_store_compacted_bytes_per_event",
         static_cast<double>(compacted) /
             static_cast<double>(std::max<uint64_t>(stats.projected, 1)));
  }
  if (stats.consumed < total) {
    std::cerr << "bench_replay: consumed " << stats.consumed << " of " << total << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace threadline::bench

int main(int argc, char** argv) { return threadline::bench::Run(argc, argv); }
