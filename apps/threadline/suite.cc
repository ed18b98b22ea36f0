#include "suite.h"

#include <filesystem>
#include <iostream>
#include <map>

#include "threadline/bus/embedded.h"
#include "threadline/bus/kafka.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/journey/projector.h"
#include "threadline/journey/service.h"
#include "threadline/outbox/relay.h"
#include "threadline/sales/service.h"
#include "threadline/server/server.h"
#include "threadline/v1/billing.grpc.pb.h"
#include "threadline/v1/installation.grpc.pb.h"
#include "threadline/v1/support.grpc.pb.h"

namespace threadline::app {
namespace {

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
  for (const auto& [k, v] : o.kafka_config) ko.extra[k] = v;
  return bus::OpenKafkaBus(ko);
}

absl::Status EnsureAllTopics(bus::Bus& bus, int partitions) {
  std::vector<bus::TopicSpec> topics;
  for (const auto& t : journey::DepartmentTopics()) topics.push_back({t, partitions});
  topics.push_back({journey::kJourneyTopic, partitions});
  topics.push_back({journey::kDeadLetterTopic, partitions});
  return bus.EnsureTopics(topics);
}

// The department services this binary knows, by target name.
using DepartmentFactory =
    std::unique_ptr<command::Department> (*)(const command::DepartmentDeps&);
const std::map<std::string, DepartmentFactory>& DepartmentFactories() {
  static const auto* factories = new std::map<std::string, DepartmentFactory>{
      {"sales", &sales::NewSalesDepartment},
  };
  return *factories;
}

// One department: its store, the relay that publishes it, its service.
struct Department {
  std::string name;
  std::unique_ptr<eventstore::EventStore> store;
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<outbox::OutboxRelay> relay;
  std::unique_ptr<command::Department> service;
  std::unique_ptr<grpc::Service> placeholder;  // a service not built yet
  grpc::Service* grpc() { return service ? service->grpc() : placeholder.get(); }
};

std::unique_ptr<grpc::Service> PlaceholderService(const std::string& name) {
  if (name == "installation") return std::make_unique<v1::InstallationService::Service>();
  if (name == "support") return std::make_unique<v1::SupportService::Service>();
  return std::make_unique<v1::BillingService::Service>();
}

class SuiteImpl final : public Suite {
 public:
  explicit SuiteImpl(SuiteOptions options) : options_(std::move(options)) {}
  ~SuiteImpl() override { Shutdown(); }

  absl::Status Init() {
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) {
      return absl::FailedPreconditionError("cannot create data directory " + options_.data_dir +
                                           ": " + ec.message());
    }
    ASSIGN_OR_RETURN(bus_, OpenBus(options_));
    RETURN_IF_ERROR(EnsureAllTopics(*bus_, options_.partitions));

    std::vector<grpc::Service*> services;
    for (const auto& target : kAllTargets) {
      if (!options_.targets.count(target) || target == "journey") continue;
      ASSIGN_OR_RETURN(auto dept, OpenDepartment(target));
      departments_.push_back(std::move(dept));
      services.push_back(departments_.back()->grpc());
    }
    if (options_.targets.count("journey")) {
      journey::ProjectorOptions po;
      po.path = (std::filesystem::path(options_.data_dir) / "journey").string();
      ASSIGN_OR_RETURN(projector_, journey::Projector::Open(po, bus_.get()));
      RETURN_IF_ERROR(projector_->Start());
      journey_grpc_ = journey::NewJourneyGrpc(projector_.get());
      services.push_back(journey_grpc_.get());
    }
    server::ServerOptions so;
    so.listen = options_.listen;
    so.tokens_file = options_.tokens_file;
    so.tls_cert = options_.tls_cert;
    so.tls_key = options_.tls_key;
    so.tls_client_ca = options_.tls_client_ca;
    ASSIGN_OR_RETURN(server_, server::GrpcServer::Start(so, services));
    Log().Info("serving", {{"listen", options_.listen},
                           {"port", server_->port()},
                           {"bus", options_.kafka_brokers.empty() ? "embedded" : "kafka"}});
    return absl::OkStatus();
  }

  int port() const override { return server_ ? server_->port() : 0; }

  void Shutdown() override {
    if (stopped_) return;
    stopped_ = true;
    if (server_) server_->Shutdown(std::chrono::seconds(5));
    if (projector_) projector_->Stop();
    for (auto& d : departments_) {
      if (d->service) d->service->Stop();
      if (d->relay) d->relay->Stop(std::chrono::seconds(10));
    }
    departments_.clear();
    projector_.reset();
    bus_.reset();
    Log().Info("stopped");
  }

  void ReloadTokens() override {
    if (server_) server_->ReloadTokens();
  }

 private:
  absl::StatusOr<std::unique_ptr<Department>> OpenDepartment(const std::string& name) {
    auto d = std::make_unique<Department>();
    d->name = name;
    eventstore::Options eo;
    eo.path = (std::filesystem::path(options_.data_dir) / name).string();
    ASSIGN_OR_RETURN(d->store, eventstore::EventStore::Open(eo));
    ASSIGN_OR_RETURN(d->publisher, bus_->NewPublisher());
    outbox::RelayOptions ro;
    ro.topic = "threadline." + name + ".v1";
    d->relay = std::make_unique<outbox::OutboxRelay>(d->store.get(), d->publisher.get(), ro);
    RETURN_IF_ERROR(d->relay->Start());
    auto factory = DepartmentFactories().find(name);
    if (factory == DepartmentFactories().end()) {
      d->placeholder = PlaceholderService(name);
      return d;
    }
    command::DepartmentDeps deps;
    deps.store = d->store.get();
    deps.bus = bus_.get();
    d->service = factory->second(deps);
    RETURN_IF_ERROR(d->service->Start());
    return d;
  }

  SuiteOptions options_;
  std::unique_ptr<bus::Bus> bus_;
  std::vector<std::unique_ptr<Department>> departments_;
  std::unique_ptr<journey::Projector> projector_;
  std::unique_ptr<grpc::Service> journey_grpc_;
  std::unique_ptr<server::GrpcServer> server_;
  bool stopped_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Suite>> Suite::Start(const SuiteOptions& options) {
  auto suite = std::make_unique<SuiteImpl>(options);
  RETURN_IF_ERROR(suite->Init());
  return std::unique_ptr<Suite>(std::move(suite));
}

absl::Status RebuildJourney(const SuiteOptions& options, const std::string& path,
                            bool progress) {
  if (std::filesystem::exists(path) && !std::filesystem::is_empty(path)) {
    return absl::FailedPreconditionError(
        "rebuild target " + path + " is not empty; rebuild into a fresh directory");
  }
  ASSIGN_OR_RETURN(auto bus, OpenBus(options));
  journey::ProjectorOptions po;
  po.path = path;
  po.publish = false;  // a rebuild must not republish the journey
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

absl::StatusOr<std::string> JourneyFingerprint(const SuiteOptions& options,
                                               const std::string& path) {
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
    return absl::NotFoundError("no journey store at " + path);
  }
  ASSIGN_OR_RETURN(auto bus, OpenBus(options));
  journey::ProjectorOptions po;
  po.path = path;
  po.publish = false;
  ASSIGN_OR_RETURN(auto projector, journey::Projector::Open(po, bus.get()));
  return projector->Fingerprint();
}

}  // namespace threadline::app
