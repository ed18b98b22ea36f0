// bench_store: fills a sales department's event store through the real
// command path (SalesService: idempotency records, claims, stream index,
// envelopes) and reports bytes per event on disk.
//
//   bench_store --dir DIR --customers 20000 [--threads 4] [--vault VAULT_DIR]
//
// With --vault the store seals personal data as the suite runs it (a key
// vault in VAULT_DIR, a key cache, privacy::SealingStore with sales'
// personal claim indexes): the same commands with sealing on, to measure
// what sealing costs on the command path.
//
// Each customer gets RegisterCustomer, PlaceOrder, two LogContact and a
// SwitchProduct: five events, five commands. The store runs with
// sync=false: fsync changes how long the fill takes, not what is stored.

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "bench_common.h"
#include "threadline/common/ids.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/privacy/sealing_store.h"
#include "threadline/privacy/vault.h"
#include "threadline/sales/service.h"

namespace threadline::bench {
namespace {

absl::Status OneCustomer(sales::SalesService& svc, const command::Invocation& inv, uint64_t n) {
  v1::RegisterCustomerRequest reg;
  reg.set_request_id(NewUuidV7());
  reg.set_channel(v1::CHANNEL_PHONE);
  reg.set_name("Customer " + std::to_string(n));
  char phone[32];
  std::snprintf(phone, sizeof(phone), "+316%08llu", static_cast<unsigned long long>(n));
  reg.add_phone_numbers(phone);
  reg.add_emails("customer" + std::to_string(n) + "@example.net");
  auto* a = reg.mutable_address();
  a->set_line1(std::to_string(1 + n % 200) + " Canal Street");
  a->set_postal_code("1011 AB");
  a->set_city("Amsterdam");
  a->set_country("NL");
  reg.set_preferred_channel(v1::CHANNEL_SMS);
  auto registered = svc.RegisterCustomer(inv, reg);
  if (!registered.ok()) return registered.status();
  const std::string& customer = registered->customer_id();

  v1::PlaceOrderRequest order;
  order.set_request_id(NewUuidV7());
  order.set_channel(v1::CHANNEL_PHONE);
  order.set_customer_id(customer);
  auto* item = order.add_items();
  item->set_sku("BB-FIBER-1000");
  item->set_description("Fibre broadband, installed at home");
  item->mutable_one_off_price()->set_amount_minor(4900);
  item->mutable_one_off_price()->set_currency("EUR");
  item->mutable_monthly_price()->set_amount_minor(4500);
  item->mutable_monthly_price()->set_currency("EUR");
  item->set_needs_installation(true);
  order.mutable_requested_installation()->mutable_start()->set_seconds(1767225600);
  order.mutable_requested_installation()->mutable_end()->set_seconds(1767225600 + 3 * 86400);
  auto* c = order.add_commitments();
  c->set_text("full installation including broadband set-up");
  c->set_owner(v1::DEPARTMENT_INSTALLATION);
  c->mutable_due_by()->set_seconds(1767225600);
  if (auto r = svc.PlaceOrder(inv, order); !r.ok()) return r.status();

  for (int i = 0; i < 2; ++i) {
    v1::LogContactRequest log;
    log.set_request_id(NewUuidV7());
    log.set_channel(v1::CHANNEL_PHONE);
    log.set_customer_id(customer);
    log.set_direction(v1::CONTACT_DIRECTION_INBOUND);
    log.set_outcome("asked when the technician comes");
    log.set_note("customer stresses that an early date matters");
    if (auto r = svc.LogContact(inv, log); !r.ok()) return r.status();
  }
  v1::SwitchProductRequest sw;
  sw.set_request_id(NewUuidV7());
  sw.set_channel(v1::CHANNEL_WEB);
  sw.set_customer_id(customer);
  sw.set_from_sku("BB-FIBER-1000");
  sw.set_to_sku("BB-FIBER-2000");
  sw.mutable_effective_at()->set_seconds(1767225600);
  sw.set_note("moved to the successor product");
  if (auto r = svc.SwitchProduct(inv, sw); !r.ok()) return r.status();
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  CLI::App app{"bench_store: bytes per event of a department store"};
  std::string dir;
  uint64_t customers = 20000;
  int threads = 4;
  app.add_option("--dir", dir, "fresh directory for the store")->required();
  app.add_option("--customers", customers, "customers (5 events each)")->capture_default_str();
  app.add_option("--threads", threads, "concurrent callers")->capture_default_str();
  std::string vault_dir;
  app.add_option("--vault", vault_dir, "seal personal data with a key vault in this directory");
  bool paranoid = true;
  app.add_option("--paranoid-file-checks", paranoid,
                 "read every table file back after a flush or compaction (the store's default)")
      ->capture_default_str();
  uint64_t write_buffer_mib = 0;
  app.add_option("--flush-every-mib", write_buffer_mib,
                 "flush the store's memtables after this many MiB (0: RocksDB's default), so "
                 "that the run includes flushes and compactions");
  CLI11_PARSE(app, argc, argv);
  if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir)) {
    std::cerr << "bench_store: " << dir << " is not empty\n";
    return 2;
  }
  uint64_t events = 0;
  // The commands only: opening and closing the stores (and the vault) are
  // not the command path.
  double secs = 0;
  {
    eventstore::Options eo;
    eo.path = dir;
    eo.sync = false;
    eo.paranoid_file_checks = paranoid;
    eo.write_buffer_bytes = write_buffer_mib << 20;
    auto store = eventstore::EventStore::Open(eo);
    if (!store.ok()) {
      std::cerr << "bench_store: " << store.status() << "\n";
      return 1;
    }
    // Unsynced, as the store: the comparison is of the work, not of fsync.
    auto keys = OpenBenchKeys(vault_dir);
    if (!keys.ok()) {
      std::cerr << "bench_store: " << keys.status() << "\n";
      return 1;
    }
    std::unique_ptr<privacy::SealingStore> sealed;
    if (keys->get() != nullptr) {
      sealed = std::make_unique<privacy::SealingStore>(
          store->get(), keys->get(), std::set<std::string>{sales::kPhoneClaim, sales::kEmailClaim});
    }
    command::Env env;
    env.store = sealed ? static_cast<eventstore::EventStore*>(sealed.get()) : store->get();
    env.keys = keys->get();
    env.service = "sales";
    env.department = v1::DEPARTMENT_SALES;
    sales::SalesService svc(env);
    command::Invocation inv;
    inv.actor.set_principal("agent-17");
    inv.actor.set_role("agent");
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (uint64_t n = next++; n < customers && !failed; n = next++) {
          if (auto s = OneCustomer(svc, inv, n); !s.ok()) {
            if (!failed.exchange(true)) std::cerr << "bench_store: " << s << "\n";
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    secs = Seconds(std::chrono::steady_clock::now() - start);
    if (failed) return 1;
    events = (*store)->LastPosition().value();
  }
  const uint64_t written = DirBytes(dir);
  if (auto s = CompactDatabase(dir); !s.ok()) {
    std::cerr << "bench_store: " << s << "\n";
    return 1;
  }
  const uint64_t compacted = DirBytes(dir);
  Emit("store_events", events);
  Emit("store_fill_seconds", secs);
  Emit("store_bytes", written);
  Emit("store_bytes_per_event", static_cast<double>(written) / static_cast<double>(events));
  Emit("store_compacted_bytes", compacted);
  Emit("store_compacted_bytes_per_event",
       static_cast<double>(compacted) / static_cast<double>(events));
  return 0;
}

}  // namespace
}  // namespace threadline::bench

int main(int argc, char** argv) { return threadline::bench::Run(argc, argv); }
