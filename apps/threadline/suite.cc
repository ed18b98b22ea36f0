#include "suite.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "threadline/billing/service.h"
#include "threadline/bus/embedded.h"
#include "threadline/bus/kafka.h"
#include "threadline/command/reactor.h"
#include "threadline/common/disk.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/domain/topics.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/installation/service.h"
#include "threadline/journey/http.h"
#include "threadline/journey/projector.h"
#include "threadline/journey/service.h"
#include "threadline/metrics/exporter.h"
#include "threadline/outbox/recover.h"
#include "threadline/outbox/relay.h"
#include "threadline/policy/holder.h"
#include "threadline/policy/record.h"
#include "threadline/privacy/sealing_store.h"
#include "threadline/privacy/vault.h"
#include "threadline/privacy_service/peers.h"
#include "threadline/privacy_service/service.h"
#include "threadline/sales/service.h"
#include "threadline/server/auth.h"
#include "threadline/server/server.h"
#include "threadline/support/service.h"
#include "threadline/v1/billing.grpc.pb.h"
#include "threadline/v1/installation.grpc.pb.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/privacy.grpc.pb.h"
#include "threadline/v1/sales.grpc.pb.h"
#include "threadline/v1/support.grpc.pb.h"

namespace threadline::app {
namespace {

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  std::ifstream in(path);
  if (!in)
    return absl::FailedPreconditionError("cannot read the " + std::string(what) + " " + path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s;
}

// A peer process of the deployment, with this process's token and CA.
absl::StatusOr<privacy::Peer> PeerAt(const SuiteOptions& o, const std::string& address) {
  privacy::Peer p;
  p.address = address;
  if (!o.peer_token_file.empty()) {
    ASSIGN_OR_RETURN(std::string token, ReadSmallFile(o.peer_token_file, "peer token file"));
    const absl::string_view trimmed = absl::StripAsciiWhitespace(token);
    if (trimmed.empty()) {
      return absl::InvalidArgumentError("the peer token file " + o.peer_token_file + " is empty");
    }
    p.token = std::string(trimmed);
  }
  if (!o.peer_tls_ca.empty()) {
    ASSIGN_OR_RETURN(p.tls_ca_pem, ReadSmallFile(o.peer_tls_ca, "peer CA certificate"));
  }
  return p;
}

// Keys for a process without the vault: the privacy target's KeyService,
// cached in memory, forgetting whoever is erased while the process runs.
struct RemoteKeys {
  std::unique_ptr<privacy::KeySource> remote;
  std::unique_ptr<privacy::KeyCache> cache;  // in front of remote
  std::unique_ptr<privacy::ErasureWatcher> watcher;
};
absl::StatusOr<RemoteKeys> OpenRemoteKeys(const SuiteOptions& o, bus::Bus* bus) {
  RemoteKeys k;
  ASSIGN_OR_RETURN(privacy::Peer peer, PeerAt(o, o.privacy_address));
  k.remote = privacy::NewRemoteKeySource(peer);
  k.cache = std::make_unique<privacy::KeyCache>(k.remote.get());
  // Before the first key is fetched, so no erasure from now on is missed.
  ASSIGN_OR_RETURN(k.watcher, privacy::ErasureWatcher::Open(bus, k.cache.get()));
  k.watcher->Start();
  return k;
}

const Logger& Log() {
  static const Logger* log = new Logger("suite");
  return *log;
}

absl::StatusOr<std::unique_ptr<bus::Bus>> OpenBus(const SuiteOptions& o) {
  if (o.kafka_brokers.empty()) {
    bus::EmbeddedBusOptions bo;
    bo.path = (std::filesystem::path(o.data_dir) / "bus").string();
    return bus::OpenEmbeddedBus(bo);
  }
  bus::KafkaOptions ko;
  ko.brokers = o.kafka_brokers;
  ko.client_id = "threadline";
  ko.replication_factor = o.replication_factor;
  for (const auto& [k, v] : o.kafka_config) ko.extra[k] = v;
  return bus::OpenKafkaBus(ko);
}

// The record topics' settings (domain::RecordTopicSettings), with the
// operator's min.insync.replicas when given.
std::map<std::string, std::string> RecordTopicConfigs(int min_insync_replicas) {
  std::map<std::string, std::string> c = domain::RecordTopicSettings();
  if (min_insync_replicas > 0) c["min.insync.replicas"] = std::to_string(min_insync_replicas);
  return c;
}

// FAILED_PRECONDITION when a topic of the record (made elsewhere, or by a
// build before this rule) deletes or compacts, saying which setting to fix
// and how; a warning when the journey topic (a feed that can be
// regenerated, kept for the broker's time-bounded default) is kept forever.
absl::Status CheckTopicSettings(bus::Bus& bus) {
  for (const auto& t : domain::RecordTopics()) {
    ASSIGN_OR_RETURN(auto configs, bus.TopicConfigs(t));
    for (const auto& [key, want] : domain::RecordTopicSettings()) {
      auto it = configs.find(key);
      if (it == configs.end() || it->second == want) continue;
      return absl::FailedPreconditionError(
          "topic " + t + " has " + key + "=" + it->second + ", and it holds the record that " +
          "journey rebuild and store recover read from its start: it must keep every message "
          "as it was written. Set " +
          key + "=" + want + " (kafka-configs.sh --bootstrap-server " +
          "HOST:PORT --alter --entity-type topics --entity-name " + t + " --add-config " + key +
          "=" + want + ", or the KafkaTopic's spec.config on Strimzi) and start again");
    }
  }
  ASSIGN_OR_RETURN(auto journey, bus.TopicConfigs(domain::kJourneyTopic));
  if (auto it = journey.find("retention.ms"); it != journey.end() && it->second == "-1") {
    Log().Warn(
        "the journey topic keeps every update forever; it is a feed that can be "
        "regenerated, so time-bounded retention (e.g. 7 days) is enough",
        {{"topic", domain::kJourneyTopic}});
  }
  return absl::OkStatus();
}

absl::Status EnsureAllTopics(bus::Bus& bus, const SuiteOptions& o) {
  std::vector<bus::TopicSpec> topics;
  for (const auto& t : domain::RecordTopics()) {
    topics.push_back({t, o.partitions, RecordTopicConfigs(o.min_insync_replicas)});
  }
  topics.push_back({domain::kJourneyTopic, o.partitions, {}});
  RETURN_IF_ERROR(bus.EnsureTopics(topics));
  RETURN_IF_ERROR(CheckTopicSettings(bus));
  // One customer's events share a partition number across the department
  // topics (and the privacy topic): the journey and the reactions rely on it.
  std::vector<std::string> joined = domain::DepartmentTopics();
  joined.push_back(domain::kPrivacyTopic);
  return bus::CheckSamePartitions(bus, joined);
}

// The department services this binary knows, by target name.
struct DepartmentFactory {
  std::unique_ptr<command::Department> (*make)(const command::DepartmentDeps&);
  v1::Department department;  // whose topic its relay publishes to
  // Its claim indexes whose values are personal (stored blinded).
  std::set<std::string> personal_indexes;
};
const std::map<std::string, DepartmentFactory>& DepartmentFactories() {
  static const auto* factories = new std::map<std::string, DepartmentFactory>{
      {"sales",
       {&sales::NewSalesDepartment,
        v1::DEPARTMENT_SALES,
        {sales::kPhoneClaim, sales::kEmailClaim}}},
      {"installation", {&installation::NewInstallationDepartment, v1::DEPARTMENT_INSTALLATION, {}}},
      {"billing", {&billing::NewBillingDepartment, v1::DEPARTMENT_BILLING, {}}},
      {"support",
       {&support::NewSupportDepartment, v1::DEPARTMENT_SUPPORT, support::PersonalIndexes()}},
  };
  return *factories;
}

// The master key: from its file, or made once under the data directory.
absl::StatusOr<privacy::Key> LoadMasterKey(const std::string& file, const std::string& data_dir,
                                           bool may_create) {
  std::filesystem::path path = file;
  if (path.empty()) {
    path = std::filesystem::path(data_dir) / "privacy" / "master.key";
    if (may_create && !std::filesystem::exists(path)) {
      std::error_code ec;
      std::filesystem::create_directories(path.parent_path(), ec);
      {
        std::ofstream out(path, std::ios::trunc);
        out << privacy::KeyHex(privacy::RandomKey()) << "\n";
        if (!out) return absl::UnavailableError("cannot write a master key to " + path.string());
      }
      std::filesystem::permissions(
          path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
      Log().Warn(
          "made a master key next to the data: a backup of the data directory then holds the "
          "key to every customer's data; give --master-key-file from a secret store in "
          "production (docs/privacy.md)",
          {{"path", path.string()}});
    }
  }
  ASSIGN_OR_RETURN(std::string hex, ReadSmallFile(path.string(), "master key file"));
  auto key = privacy::ParseKey(hex);
  if (!key.ok()) {
    return absl::InvalidArgumentError("master key file " + path.string() + ": " +
                                      std::string(key.status().message()));
  }
  return *key;
}

// One department: its store, the relay that publishes it, its service.
struct Department {
  std::string name;
  v1::Department department = v1::DEPARTMENT_UNSPECIFIED;
  std::unique_ptr<eventstore::EventStore> store;
  std::unique_ptr<privacy::SealingStore> sealed;  // in front of store, with a vault
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<outbox::OutboxRelay> relay;
  std::unique_ptr<command::Department> service;
  grpc::Service* grpc() { return service->grpc(); }
};

// The gRPC service a target serves, as the health service names it.
std::string HealthName(const std::string& target) {
  static const auto* names = new std::map<std::string, std::string>{
      {"sales", v1::SalesService::service_full_name()},
      {"installation", v1::InstallationService::service_full_name()},
      {"support", v1::SupportService::service_full_name()},
      {"billing", v1::BillingService::service_full_name()},
      {"journey", v1::JourneyService::service_full_name()},
      {"privacy", v1::PrivacyService::service_full_name()},
  };
  auto it = names->find(target);
  return it == names->end() ? target : it->second;
}

class SuiteImpl final : public Suite {
 public:
  explicit SuiteImpl(SuiteOptions options) : options_(std::move(options)) {}
  ~SuiteImpl() override { Shutdown(); }

  absl::Status Init() {
    // The policy first: the roles it gives are checked on the first call,
    // and every department decides with it.
    if (!options_.policy) {
      ASSIGN_OR_RETURN(options_.policy, LoadPolicyFile(options_.policy_file));
    }
    RETURN_IF_ERROR(server::SetAccessPolicy(*options_.policy));
    // From here on the holder has the policy in force; the option is spent.
    policy_ = std::make_unique<policy::Holder>(*std::move(options_.policy));
    options_.policy.reset();
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) {
      return absl::FailedPreconditionError("cannot create data directory " + options_.data_dir +
                                           ": " + ec.message());
    }
    ASSIGN_OR_RETURN(bus_, OpenBus(options_));
    RETURN_IF_ERROR(EnsureAllTopics(*bus_, options_));

    std::vector<grpc::Service*> services;
    // The keys first: every department and the journey seal with them.
    const bool seals = std::any_of(options_.targets.begin(), options_.targets.end(),
                                   [](const std::string& t) { return t != "privacy"; });
    if (options_.targets.count("privacy")) {
      RETURN_IF_ERROR(OpenVault());
    } else if (!options_.privacy_address.empty()) {
      ASSIGN_OR_RETURN(remote_keys_, OpenRemoteKeys(options_, bus_.get()));
      keys_ = std::move(remote_keys_.cache);
    } else if (seals) {
      return absl::InvalidArgumentError(
          "personal data is sealed with keys from the privacy target: add it to this process "
          "(--target=...,privacy) or give --privacy-address=HOST:PORT of the process that "
          "runs it");
    }
    for (const auto& target : kAllTargets) {
      if (!options_.targets.count(target) || target == "journey" || target == "privacy") continue;
      ASSIGN_OR_RETURN(auto dept, OpenDepartment(target));
      departments_.push_back(std::move(dept));
      services.push_back(departments_.back()->grpc());
    }
    if (options_.targets.count("journey")) {
      journey::ProjectorOptions po;
      po.path = (std::filesystem::path(options_.data_dir) / "journey").string();
      po.publish = options_.journey_publish;
      po.instance = options_.instance;
      po.keys = keys_.get();
      ASSIGN_OR_RETURN(projector_, journey::Projector::Open(po, bus_.get()));
      RETURN_IF_ERROR(projector_->Start());
      journey_grpc_ = journey::NewJourneyGrpc(projector_.get());
      services.push_back(journey_grpc_.get());
      journey_export_grpc_ = journey::NewJourneyExportGrpc(projector_.get());
      services.push_back(journey_export_grpc_.get());
    }
    if (vault_) {
      RETURN_IF_ERROR(OpenPrivacyService());
      services.push_back(privacy_grpc_.get());
      // The other processes of a deployment fetch their keys here.
      key_grpc_ = privacy::NewKeyGrpc(vault_.get());
      services.push_back(key_grpc_.get());
    }
    server::ServerOptions so = options_.grpc;
    so.listen = options_.listen;
    so.tokens_file = options_.tokens_file;
    so.tls_cert = options_.tls_cert;
    so.tls_key = options_.tls_key;
    so.tls_client_ca = options_.tls_client_ca;
    ASSIGN_OR_RETURN(server_, server::GrpcServer::Start(so, services));
    if (!options_.http_listen.empty()) {
      if (!projector_) {
        return absl::InvalidArgumentError(
            "--http-listen serves the journey: add the journey target (--target=...,journey) "
            "or drop the flag");
      }
      // After the gRPC server: HTTP checks the same tokens, which it owns.
      journey::JourneyHttpOptions ho = options_.http;
      ho.listen = options_.http_listen;
      ASSIGN_OR_RETURN(journey_http_,
                       journey::JourneyHttp::Start(ho, projector_.get(), &server_->auth()));
    }
    // Before the first report: a service still catching up must not be
    // SERVING even for the first second.
    RefreshHealth();
    health_thread_ = std::thread([this] { HealthLoop(); });
    if (!options_.metrics_listen.empty()) {
      metrics::ExporterOptions mo;
      mo.listen = options_.metrics_listen;
      ASSIGN_OR_RETURN(metrics_, metrics::Exporter::Start(mo, &server_->stats(),
                                                          [this] { return MetricsSample(); }));
      Log().Info("metrics", {{"listen", options_.metrics_listen}, {"port", metrics_->port()}});
    }
    serving_started_ = true;
    Log().Info("policy in force",
               {{"file", PolicyFileName()}, {"digest", policy_->Get()->digest()}});
    Log().Info("serving", {{"listen", options_.listen},
                           {"port", server_->port()},
                           {"bus", options_.kafka_brokers.empty() ? "embedded" : "kafka"}});
    return absl::OkStatus();
  }

  int port() const override { return server_ ? server_->port() : 0; }

  void Shutdown() override {
    if (stopped_) return;
    stopped_ = true;
    // Metrics and health read every component below: stop them first.
    if (metrics_) metrics_->Stop();
    {
      std::lock_guard lock(health_mu_);
      health_stop_ = true;
    }
    health_cv_.notify_all();
    if (health_thread_.joinable()) health_thread_.join();
    // HTTP first: its streams read the projector and its tokens are the
    // gRPC server's.
    if (journey_http_) journey_http_->Stop();
    if (server_) server_->Shutdown(std::chrono::seconds(5));
    if (projector_) projector_->Stop();
    for (auto& d : departments_) {
      if (d->service) d->service->Stop();
      if (d->relay) d->relay->Stop(std::chrono::seconds(10));
    }
    if (privacy_relay_) privacy_relay_->Stop(std::chrono::seconds(10));
    if (remote_keys_.watcher) remote_keys_.watcher->Stop();
    departments_.clear();
    projector_.reset();
    privacy_service_.reset();
    privacy_relay_.reset();
    privacy_publisher_.reset();
    privacy_store_.reset();
    remote_keys_.watcher.reset();
    keys_.reset();
    remote_keys_.remote.reset();
    vault_.reset();
    bus_.reset();
    // A start that failed says why in one line (main prints it), and nothing
    // else: it never served.
    if (serving_started_) Log().Info("stopped");
  }

  void ReloadTokens() override {
    if (server_) server_->ReloadTokens();
  }

  void ReloadPolicy() override {
    if (!policy_) return;
    if (options_.policy_file.empty()) {
      Log().Info("no --policy-file to reload: the shipped policy stays in force",
                 {{"digest", policy_->Get()->digest()}});
      return;
    }
    const std::shared_ptr<const policy::Policy> running = policy_->Get();
    auto next = LoadPolicyFile(options_.policy_file);
    // Each counter moves once its reload is logged and recorded, so whoever
    // watches the metrics sees the whole of it.
    if (next.ok() && next->digest() == running->digest()) {
      Log().Info("policy unchanged",
                 {{"file", options_.policy_file}, {"digest", running->digest()}});
      // A store that could not record the last change records it now.
      RecordPolicy(*running);
      reloads_unchanged_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // SetAccessPolicy checks again what LoadPolicyFile checked, and on an
    // error leaves the table in force; the holder is set only after it.
    absl::Status refused = next.ok() ? server::SetAccessPolicy(*next) : next.status();
    if (!refused.ok()) {
      Log().Error("policy file refused; the running policy stays in force",
                  {{"file", options_.policy_file},
                   {"error", std::string(refused.message())},
                   {"digest", running->digest()}});
      reloads_refused_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    policy_->Set(*std::move(next));
    const std::shared_ptr<const policy::Policy> now = policy_->Get();
    Log().Info("policy changed", {{"file", options_.policy_file},
                                  {"previous_digest", running->digest()},
                                  {"digest", now->digest()}});
    RecordPolicy(*now);
    reloads_applied_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::string PolicyFileName() const {
    return options_.policy_file.empty() ? "(shipped)" : options_.policy_file;
  }

  // Records `p` in every department store of this process whose last
  // PolicyChanged names another; a store that cannot write now records it
  // at the next reload or start.
  void RecordPolicy(const policy::Policy& p) {
    for (const auto& d : departments_) {
      if (absl::Status s = RecordPolicyIn(*d, p); !s.ok()) {
        Log().Error(
            "cannot record the policy in the department's store; it is in force all the "
            "same, and recorded at the next reload or start",
            {{"store", d->name}, {"digest", p.digest()}, {"error", s.ToString()}});
      }
    }
  }

  absl::Status RecordPolicyIn(const Department& d, const policy::Policy& p) {
    // The unsealed store: the event holds nothing personal, and recording
    // needs no key from a privacy process that may not be up yet.
    const command::Env env{d.store.get(), nullptr, d.name, d.department};
    ASSIGN_OR_RETURN(policy::Recorded r, policy::RecordPolicy(env, p, options_.policy_file));
    if (r.appended) {
      Log().Info(
          "policy recorded",
          {{"store", d.name}, {"digest", p.digest()}, {"previous_digest", r.previous_digest}});
    }
    return absl::OkStatus();
  }

  void HealthLoop() {
    std::unique_lock lock(health_mu_);
    while (!health_cv_.wait_for(lock, options_.health_interval, [&] { return health_stop_; })) {
      lock.unlock();
      RefreshHealth();
      lock.lock();
    }
  }

  // A service is SERVING (ready) only when it has caught up with the bus,
  // the bus answers, and the stores it writes accept writes (not while its
  // disk is full). The overall "" status stays SERVING while the process
  // runs, so it serves as the liveness check, unless a store cannot recover
  // from a write error without a restart. The end offsets read here are
  // kept for the consumer-lag metrics.
  void RefreshHealth() {
    std::map<std::string, std::vector<int64_t>> ends;
    bool reachable = true;
    for (const auto& topic : domain::DepartmentTopics()) {
      auto e = bus_->EndOffsets(topic);
      if (!e.ok()) {
        reachable = false;
        break;
      }
      ends[topic] = std::move(*e);
    }
    std::vector<std::string> unwritable;
    bool needs_restart = false;
    auto writable = [&](const std::string& store, const StoreHealth& h) {
      if (!h.writable) unwritable.push_back(store);
      needs_restart = needs_restart || h.needs_restart;
      return h.writable;
    };
    // The embedded bus's store: while it cannot write, nothing is published.
    const auto bus_store = bus_->LocalStoreHealth();
    const bool bus_writable = !bus_store || writable("bus", *bus_store);
    // Departments seal with the vault's keys, and a new customer's key is a
    // write to the vault.
    const bool vault_writable = !vault_ || writable("vault", vault_->Health());
    std::vector<std::pair<std::string, bool>> serving;
    for (const auto& d : departments_) {
      const bool store_ok = writable(d->name, d->store->Health());
      bool ok = reachable && bus_writable && store_ok && (!d->sealed || vault_writable) &&
                (!d->service || d->service->CaughtUp());
      serving.emplace_back(HealthName(d->name), ok);
    }
    if (privacy_store_) {
      const bool store_ok = writable("privacy", privacy_store_->Health());
      serving.emplace_back(HealthName("privacy"),
                           reachable && bus_writable && store_ok && vault_writable);
    }
    if (projector_) {
      const bool store_ok = writable("journey", projector_->Stats().store);
      serving.emplace_back(HealthName("journey"),
                           reachable && bus_writable && store_ok && projector_->CaughtUp());
    }
    bool changed;
    {
      std::lock_guard lock(health_mu_);
      changed = serving != serving_ || reachable != bus_reachable_ || unwritable != unwritable_ ||
                needs_restart != needs_restart_;
      if (reachable) end_offsets_ = std::move(ends);
      bus_reachable_ = reachable;
      serving_ = serving;
      unwritable_ = unwritable;
      needs_restart_ = needs_restart;
    }
    for (const auto& [name, ok] : serving) server_->SetServing(name, ok);
    server_->SetServing("", !needs_restart);
    if (changed) {
      std::string list;
      for (const auto& [name, ok] : serving) {
        list += (list.empty() ? "" : ",") + name + "=" + (ok ? "SERVING" : "NOT_SERVING");
      }
      std::string stores;
      for (const auto& st : unwritable) stores += (stores.empty() ? "" : ",") + st;
      if (needs_restart) {
        Log().Error(
            "a store cannot recover from its write error without a restart; liveness "
            "reports NOT_SERVING",
            {{"services", list}, {"unwritable", stores}});
      } else {
        Log().Info("health", {{"services", list},
                              {"bus", reachable ? "reachable" : "unreachable"},
                              {"unwritable", stores.empty() ? "none" : stores}});
      }
    }
  }

  // Read by the metrics endpoint's threads at every scrape.
  metrics::SuiteSample MetricsSample() {
    metrics::SuiteSample s;
    std::map<std::string, std::vector<int64_t>> ends;
    {
      std::lock_guard lock(health_mu_);
      ends = end_offsets_;
      s.bus_reachable = bus_reachable_;
      s.serving = serving_;
    }
    auto lag = [&](const std::string& consumer, const bus::TopicPartition& tp, int64_t next) {
      auto it = ends.find(tp.topic);
      if (it == ends.end() || tp.partition >= static_cast<int32_t>(it->second.size())) return;
      s.consumers.push_back({consumer, tp.topic, tp.partition, it->second[tp.partition] - next});
    };
    for (const auto& d : departments_) {
      metrics::DepartmentSample ds;
      ds.department = d->name;
      if (d->relay) ds.relay = d->relay->Stats();
      ds.append_latency = d->store->AppendLatency();
      s.departments.push_back(std::move(ds));
      s.stores.push_back({d->name, d->store->Health()});
    }
    if (auto bus_store = bus_->LocalStoreHealth()) s.stores.push_back({"bus", *bus_store});
    if (vault_) s.stores.push_back({"vault", vault_->Health()});
    if (privacy_store_) s.stores.push_back({"privacy", privacy_store_->Health()});
    if (auto space = GetDiskSpace(options_.data_dir); space.ok()) s.data_dir = *space;
    if (policy_) {
      s.policy = metrics::PolicySample{policy_->Get()->digest(),
                                       reloads_applied_.load(std::memory_order_relaxed),
                                       reloads_unchanged_.load(std::memory_order_relaxed),
                                       reloads_refused_.load(std::memory_order_relaxed)};
    }
    for (const auto& r : command::RunningReactors()) {
      for (const auto& p : r.positions) lag(r.consumer, p.tp, p.next_offset);
      s.consumer_totals.push_back({r.consumer, r.stats.replayed, r.stats.errors, r.stats.invalid});
    }
    if (keys_) {
      metrics::KeyCacheSample k;
      k.keys = keys_->size();
      if (remote_keys_.watcher) k.erasures_heard = remote_keys_.watcher->forgotten();
      s.key_cache = k;
    }
    if (projector_) {
      auto ps = projector_->Stats();
      for (const auto& [tp, next] : ps.next_offsets) lag("journey", tp, next);
      s.consumer_totals.push_back({"journey", ps.duplicates, 0});
      metrics::JourneySample j;
      j.projected = ps.projected;
      j.dead_lettered = ps.dead_lettered;
      j.updates_dead_lettered = ps.updates_dead_lettered;
      j.subscribers = ps.subscribers;
      j.end_to_end = std::move(ps.end_to_end);
      j.events_by_type.assign(ps.projected_by_type.begin(), ps.projected_by_type.end());
      s.journey = std::move(j);
      s.stores.push_back({"journey", ps.store});
    }
    return s;
  }

  absl::StatusOr<std::unique_ptr<Department>> OpenDepartment(const std::string& name) {
    auto factory = DepartmentFactories().find(name);
    if (factory == DepartmentFactories().end()) {
      return absl::InvalidArgumentError("no department service named '" + name + "'");
    }
    auto d = std::make_unique<Department>();
    d->name = name;
    d->department = factory->second.department;
    eventstore::Options eo;
    eo.path = (std::filesystem::path(options_.data_dir) / name).string();
    ASSIGN_OR_RETURN(d->store, eventstore::EventStore::Open(eo));
    // Before the relay starts and before any command: the policy this store
    // runs with is its first event from here on.
    RETURN_IF_ERROR(RecordPolicyIn(*d, *policy_->Get()));
    if (keys_) {
      d->sealed = std::make_unique<privacy::SealingStore>(d->store.get(), keys_.get(),
                                                          factory->second.personal_indexes);
    }
    ASSIGN_OR_RETURN(d->publisher, bus_->NewPublisher());
    outbox::RelayOptions ro;
    ro.topic = domain::DepartmentTopic(factory->second.department);
    // The relay publishes what is stored: sealed.
    d->relay = std::make_unique<outbox::OutboxRelay>(d->store.get(), d->publisher.get(), ro);
    RETURN_IF_ERROR(d->relay->Start());
    command::DepartmentDeps deps;
    deps.store = d->sealed ? d->sealed.get() : d->store.get();
    deps.bus = bus_.get();
    deps.keys = d->sealed ? keys_.get() : nullptr;
    deps.policy = policy_.get();
    d->service = factory->second.make(deps);
    RETURN_IF_ERROR(d->service->Start());
    return d;
  }

  absl::Status OpenVault() {
    const auto dir = std::filesystem::path(options_.data_dir) / "privacy";
    privacy::VaultOptions vo;
    vo.path = (dir / "vault").string();
    ASSIGN_OR_RETURN(vo.master, LoadMasterKey(options_.master_key_file, options_.data_dir, true));
    if (!options_.previous_master_key_file.empty()) {
      ASSIGN_OR_RETURN(vo.previous_master,
                       LoadMasterKey(options_.previous_master_key_file, options_.data_dir, false));
    }
    ASSIGN_OR_RETURN(vault_, privacy::Vault::Open(vo));
    keys_ = std::make_unique<privacy::KeyCache>(vault_.get());
    // An erasure drops the key from this process's cache before it answers.
    vault_->OnErase([keys = keys_.get()](const std::string& subject) { keys->Forget(subject); });
    return absl::OkStatus();
  }

  absl::Status OpenPrivacyService() {
    eventstore::Options eo;
    eo.path = (std::filesystem::path(options_.data_dir) / "privacy" / "events").string();
    ASSIGN_OR_RETURN(privacy_store_, eventstore::EventStore::Open(eo));
    ASSIGN_OR_RETURN(privacy_publisher_, bus_->NewPublisher());
    outbox::RelayOptions ro;
    ro.topic = domain::kPrivacyTopic;
    privacy_relay_ =
        std::make_unique<outbox::OutboxRelay>(privacy_store_.get(), privacy_publisher_.get(), ro);
    RETURN_IF_ERROR(privacy_relay_->Start());
    privacy::JourneyExportFn journey;  // null: no journey to read
    if (projector_) {
      journey = [p = projector_.get()](const std::string& customer) {
        return p->ExportCustomer(customer);
      };
    } else if (!options_.journey_address.empty()) {
      ASSIGN_OR_RETURN(privacy::Peer peer, PeerAt(options_, options_.journey_address));
      journey = privacy::RemoteJourneyExport(peer);
    }
    privacy_service_ = std::make_unique<privacy::PrivacyService>(
        command::Env{privacy_store_.get(), nullptr, "privacy", v1::DEPARTMENT_PRIVACY},
        vault_.get(), journey);
    privacy_grpc_ = privacy::NewPrivacyGrpc(privacy_service_.get());
    return absl::OkStatus();
  }

  SuiteOptions options_;
  // Read by every department on every command; outlives them.
  std::unique_ptr<policy::Holder> policy_;
  std::atomic<uint64_t> reloads_applied_{0}, reloads_unchanged_{0}, reloads_refused_{0};
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<privacy::Vault> vault_;
  RemoteKeys remote_keys_;                   // without a vault: its cache moves to keys_
  std::unique_ptr<privacy::KeyCache> keys_;  // in front of vault_ or remote_keys_.remote
  std::unique_ptr<grpc::Service> key_grpc_;
  std::unique_ptr<eventstore::EventStore> privacy_store_;
  std::unique_ptr<bus::Publisher> privacy_publisher_;
  std::unique_ptr<outbox::OutboxRelay> privacy_relay_;
  std::unique_ptr<privacy::PrivacyService> privacy_service_;
  std::unique_ptr<grpc::Service> privacy_grpc_;
  std::vector<std::unique_ptr<Department>> departments_;
  std::unique_ptr<journey::Projector> projector_;
  std::unique_ptr<grpc::Service> journey_grpc_;
  std::unique_ptr<grpc::Service> journey_export_grpc_;
  std::unique_ptr<server::GrpcServer> server_;
  std::unique_ptr<journey::JourneyHttp> journey_http_;  // after server_: borrows its tokens
  std::unique_ptr<metrics::Exporter> metrics_;          // reads everything above at scrape time
  std::mutex health_mu_;
  std::condition_variable health_cv_;
  bool health_stop_ = false;                                 // guarded by health_mu_
  bool bus_reachable_ = true;                                // guarded by health_mu_
  std::map<std::string, std::vector<int64_t>> end_offsets_;  // guarded by health_mu_
  std::vector<std::pair<std::string, bool>> serving_;        // guarded by health_mu_
  std::vector<std::string> unwritable_;                      // guarded by health_mu_
  bool needs_restart_ = false;                               // guarded by health_mu_
  std::thread health_thread_;
  bool stopped_ = false;
  bool serving_started_ = false;
};

}  // namespace

absl::StatusOr<policy::Policy> LoadPolicyFile(const std::string& file) {
  if (file.empty()) return policy::Policy::Defaults();
  ASSIGN_OR_RETURN(policy::Policy p, policy::Policy::Load(file));
  if (absl::Status s = server::CheckAccessPolicy(p); !s.ok()) {
    return absl::InvalidArgumentError(file + ": " + std::string(s.message()));
  }
  return p;
}

absl::StatusOr<std::unique_ptr<Suite>> Suite::Start(const SuiteOptions& options) {
  auto suite = std::make_unique<SuiteImpl>(options);
  RETURN_IF_ERROR(suite->Init());
  return std::unique_ptr<Suite>(std::move(suite));
}

namespace {

// The keys for tools that read sealed data: the privacy target's at
// --privacy-address, or else the key vault under options.data_dir,
// read-only (a running server may hold it). FAILED_PRECONDITION when there
// is neither: a journey rebuilt without keys would differ from the live one.
struct ToolKeys {
  std::unique_ptr<privacy::Vault> vault;
  std::unique_ptr<privacy::KeySource> remote;
  std::unique_ptr<privacy::KeyCache> cache;
  privacy::KeySource* get() const { return cache.get(); }
};
absl::StatusOr<ToolKeys> OpenToolKeys(const SuiteOptions& options) {
  ToolKeys keys;
  if (!options.privacy_address.empty()) {
    ASSIGN_OR_RETURN(privacy::Peer peer, PeerAt(options, options.privacy_address));
    keys.remote = privacy::NewRemoteKeySource(peer);
    keys.cache = std::make_unique<privacy::KeyCache>(keys.remote.get());
    return keys;
  }
  const auto path = std::filesystem::path(options.data_dir) / "privacy" / "vault";
  if (!std::filesystem::exists(path / "CURRENT")) {
    return absl::FailedPreconditionError(
        "the journey opens sealed personal data with the key vault, and there is none at " +
        path.string() +
        ": give --privacy-address=HOST:PORT of the process that runs the privacy target, or "
        "--data-dir of the one that holds the vault");
  }
  privacy::VaultOptions vo;
  vo.path = path.string();
  vo.read_only = true;
  ASSIGN_OR_RETURN(vo.master, LoadMasterKey(options.master_key_file, options.data_dir, false));
  ASSIGN_OR_RETURN(keys.vault, privacy::Vault::Open(vo));
  keys.cache = std::make_unique<privacy::KeyCache>(keys.vault.get());
  return keys;
}

}  // namespace

absl::Status RecoverEventStore(const SuiteOptions& options, const std::string& name,
                               const std::string& path, bool progress) {
  outbox::RecoverOptions ro;
  if (name == "privacy") {
    ro.topic = domain::kPrivacyTopic;
  } else if (auto f = DepartmentFactories().find(name); f != DepartmentFactories().end()) {
    ro.topic = domain::DepartmentTopic(f->second.department);
  } else {
    return absl::InvalidArgumentError(
        "--store must be sales, installation, support, billing or "
        "privacy, not '" +
        name + "'");
  }
  ro.path = path;
  if (progress) {
    ro.progress = [](const char* phase, uint64_t done, uint64_t total) {
      std::cerr << "\rrecovering: " << phase << " " << done << "/" << total << "   " << std::flush;
    };
  }
  ASSIGN_OR_RETURN(auto bus, OpenBus(options));
  ASSIGN_OR_RETURN(outbox::RecoverReport r, outbox::RecoverStore(*bus, ro));
  if (progress) std::cerr << "\n";
  eventstore::Options eo;
  eo.path = path;
  eo.must_exist = true;
  ASSIGN_OR_RETURN(auto store, eventstore::EventStore::Open(eo));
  ASSIGN_OR_RETURN(eventstore::VerifyReport verified, store->Verify());
  Log().Info("event store recovered from its topic", {{"store", name},
                                                      {"topic", ro.topic},
                                                      {"path", path},
                                                      {"messages", r.messages},
                                                      {"events", r.events},
                                                      {"appends", r.appends},
                                                      {"with_record", r.records},
                                                      {"duplicates", r.duplicates},
                                                      {"unreadable", r.unreadable},
                                                      {"missing_positions", r.missing_positions}});
  if (r.unreadable > 0 || r.missing_positions > 0) {
    Log().Warn("the topic did not hold everything: check what is missing before serving",
               {{"unreadable", r.unreadable}, {"missing_positions", r.missing_positions}});
  }
  if (r.appends > r.records) {
    Log().Warn("events of builds before append records carry no idempotent answers or claims",
               {{"appends_without_record", r.appends - r.records}});
  }
  if (!verified.ok()) {
    return absl::DataLossError("the recovered store at " + path +
                               " failed verification: " + verified.problems.front());
  }
  return absl::OkStatus();
}

absl::Status RebuildJourney(const SuiteOptions& options, const std::string& path, bool progress) {
  if (std::filesystem::exists(path) && !std::filesystem::is_empty(path)) {
    return absl::FailedPreconditionError("rebuild target " + path +
                                         " is not empty; rebuild into a fresh directory");
  }
  ASSIGN_OR_RETURN(auto bus, OpenBus(options));
  ASSIGN_OR_RETURN(ToolKeys keys, OpenToolKeys(options));
  journey::ProjectorOptions po;
  po.path = path;
  po.publish = false;  // a rebuild must not republish the journey
  po.keys = keys.get();
  ASSIGN_OR_RETURN(auto projector, journey::Projector::Open(po, bus.get()));
  auto start = std::chrono::steady_clock::now();
  uint64_t last_done = 0;
  RETURN_IF_ERROR(projector->CatchUp([&](uint64_t done, uint64_t total) {
    last_done = done;
    if (!progress) return;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "\rrebuilding journey: " << done << "/" << total << " messages ("
              << (total ? 100 * done / total : 100) << "%), "
              << static_cast<uint64_t>(secs > 0 ? done / secs : 0) << " msg/s" << std::flush;
  }));
  if (progress) std::cerr << "\n";
  auto stats = projector->Stats();
  Log().Info("journey rebuilt", {{"path", path},
                                 {"messages", last_done},
                                 {"entries", stats.projected},
                                 {"duplicates", stats.duplicates}});
  return absl::OkStatus();
}

absl::StatusOr<std::string> JourneyFingerprint(const SuiteOptions& options, const std::string& path,
                                               const std::vector<std::string>& customers) {
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
    return absl::NotFoundError("no journey store at " + path);
  }
  ASSIGN_OR_RETURN(auto bus, OpenBus(options));
  // Sealing the same value twice gives other bytes: the fingerprint digests
  // what the journey opens.
  ASSIGN_OR_RETURN(ToolKeys keys, OpenToolKeys(options));
  journey::ProjectorOptions po;
  po.path = path;
  po.publish = false;
  po.keys = keys.get();
  ASSIGN_OR_RETURN(auto projector, journey::Projector::Open(po, bus.get()));
  return projector->Fingerprint({customers.begin(), customers.end()});
}

}  // namespace threadline::app
