#include "threadline/metrics/exporter.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>

#include "threadline/domain/topics.h"
#include "threadline/metrics/build_info.h"

namespace threadline::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// Collects samples into families by name, in first-seen order, so one
// family holds every label set of a metric.
class Families {
 public:
  void Counter(const std::string& name, const std::string& help, Labels labels, double v) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = v;
    Add(name, help, MetricType::Counter, std::move(m));
  }
  void Gauge(const std::string& name, const std::string& help, Labels labels, double v) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = v;
    Add(name, help, MetricType::Gauge, std::move(m));
  }
  // `buckets` are non-cumulative with one overflow bucket past `bounds`.
  void Histogram(const std::string& name, const std::string& help, Labels labels,
                 const std::vector<double>& bounds, const std::vector<uint64_t>& buckets,
                 double sum) {
    ClientMetric m;
    m.label = std::move(labels);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
      cumulative += buckets[i];
      ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back(b);
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = sum;
    Add(name, help, MetricType::Histogram, std::move(m));
  }
  void Histogram(const std::string& name, const std::string& help, Labels labels,
                 const HistogramSnapshot& h) {
    if (h.buckets.empty()) {
      // A component that never recorded still shows the series (all zero),
      // so dashboards and alerts see it exists.
      HistogramSnapshot zero;
      zero.bounds.assign(kLatencyBounds.begin(), kLatencyBounds.end());
      zero.buckets.assign(kLatencyBounds.size() + 1, 0);
      Histogram(name, help, std::move(labels), zero.bounds, zero.buckets, 0);
      return;
    }
    Histogram(name, help, std::move(labels), h.bounds, h.buckets, h.sum_seconds);
  }

  std::vector<MetricFamily> Take() { return std::move(families_); }

 private:
  void Add(const std::string& name, const std::string& help, MetricType type, ClientMetric m) {
    auto [it, inserted] = index_.try_emplace(name, families_.size());
    if (inserted) families_.push_back(MetricFamily{name, help, type, {}});
    families_[it->second].metric.push_back(std::move(m));
  }

  std::map<std::string, size_t> index_;
  std::vector<MetricFamily> families_;
};

// "/threadline.v1.SalesService/RegisterCustomer" -> service, method.
std::pair<std::string, std::string> SplitMethod(const std::string& full) {
  std::string_view s = full;
  if (!s.empty() && s.front() == '/') s.remove_prefix(1);
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return {"", std::string(s)};
  return {std::string(s.substr(0, slash)), std::string(s.substr(slash + 1))};
}

void AddServer(Families& f, const server::ServerStats& stats) {
  std::vector<double> bounds(server::kLatencyBucketBounds.begin(),
                             server::kLatencyBucketBounds.end());
  for (const auto& m : stats.Snapshot()) {
    auto [service, method] = SplitMethod(m.method);
    for (int code = 0; code < server::kStatusCodeCount; ++code) {
      // Codes never returned stay out: 17 series per method would mostly
      // be zeros. rate() treats a series appearing later as starting at 0.
      if (m.calls[code] == 0) continue;
      f.Counter("threadline_grpc_requests_total",
                "gRPC calls handled, by service, method and status code",
                {{"service", service},
                 {"method", method},
                 {"code", std::string(server::StatusCodeName(code))}},
                static_cast<double>(m.calls[code]));
    }
    std::vector<uint64_t> buckets(m.latency_buckets.begin(), m.latency_buckets.end());
    f.Histogram("threadline_grpc_request_duration_seconds",
                "gRPC call latency (a stream's whole life for server streams)",
                {{"service", service}, {"method", method}}, bounds, buckets, m.latency_sum_seconds);
  }
  const server::StreamCounts streams = stats.Streams();
  f.Gauge("threadline_grpc_streams_open", "gRPC server streams open now", {},
          static_cast<double>(streams.open));
  f.Counter("threadline_grpc_streams_refused_total",
            "gRPC server streams refused by a limit (principal: "
            "--grpc-max-streams-per-principal, server: --grpc-max-streams)",
            {{"limit", "principal"}}, static_cast<double>(streams.refused_per_principal));
  f.Counter("threadline_grpc_streams_refused_total",
            "gRPC server streams refused by a limit (principal: "
            "--grpc-max-streams-per-principal, server: --grpc-max-streams)",
            {{"limit", "server"}}, static_cast<double>(streams.refused_server));
  f.Counter("threadline_grpc_stream_write_timeouts_total",
            "gRPC server streams ended because the client took nothing for "
            "--grpc-stream-write-timeout-ms",
            {}, static_cast<double>(streams.write_timeouts));
}

void AddSuite(Families& f, const SuiteSample& s) {
  for (const auto& d : s.departments) {
    Labels l{{"department", d.department}};
    uint64_t backlog =
        d.relay.last_position > d.relay.cursor ? d.relay.last_position - d.relay.cursor : 0;
    f.Gauge("threadline_outbox_backlog_events",
            "events stored but not yet confirmed on the bus (last position - outbox cursor)", l,
            static_cast<double>(backlog));
    f.Counter("threadline_outbox_published_total", "publish calls by the outbox relay", l,
              static_cast<double>(d.relay.published));
    f.Counter("threadline_outbox_delivery_failures_total",
              "failed delivery reports; the relay re-publishes from its cursor", l,
              static_cast<double>(d.relay.failures));
    f.Histogram("threadline_eventstore_append_duration_seconds",
                "event store append latency, group commit and fsync included", l, d.append_latency);
  }
  for (const auto& c : s.consumers) {
    f.Gauge(
        "threadline_consumer_lag_messages",
        "messages on the bus a consumer has not processed yet (end offset - next offset)",
        {{"consumer", c.consumer}, {"topic", c.topic}, {"partition", std::to_string(c.partition)}},
        static_cast<double>(c.lag < 0 ? 0 : c.lag));
  }
  for (const auto& c : s.consumer_totals) {
    f.Counter("threadline_duplicates_dropped_total",
              "re-delivered messages dropped by event_id or absorbed by idempotency keys",
              {{"consumer", c.consumer}}, static_cast<double>(c.duplicates));
    f.Counter("threadline_consumer_errors_total", "failed consumer batches, retried",
              {{"consumer", c.consumer}}, static_cast<double>(c.errors));
    f.Counter("threadline_consumer_invalid_total",
              "messages skipped as invalid: not a valid envelope, or a sealed field that did "
              "not open",
              {{"consumer", c.consumer}}, static_cast<double>(c.invalid));
  }
  if (s.key_cache) {
    f.Gauge("threadline_key_cache_keys", "customers' data keys held in this process's memory", {},
            static_cast<double>(s.key_cache->keys));
    if (s.key_cache->erasures_heard) {
      f.Counter("threadline_key_cache_erasures_total",
                "customers whose key this process dropped when their erasure reached it", {},
                static_cast<double>(*s.key_cache->erasures_heard));
    }
  }
  if (s.journey) {
    const JourneySample& j = *s.journey;
    f.Counter("threadline_journey_projected_total", "timeline entries projected", {},
              static_cast<double>(j.projected));
    f.Counter("threadline_journey_dead_lettered_total",
              std::string("unreadable events parked on ") + domain::kDeadLetterTopic, {},
              static_cast<double>(j.dead_lettered));
    f.Counter("threadline_journey_updates_dead_lettered_total",
              std::string("journey updates too large for ") + domain::kJourneyTopic +
                  ", parked on " + domain::kDeadLetterTopic + " instead",
              {}, static_cast<double>(j.updates_dead_lettered));
    for (const auto& [type, n] : j.events_by_type) {
      f.Counter("threadline_journey_events_total",
                "events projected, by payload type (SlaBreached counts SLA breaches)",
                {{"type", type}}, static_cast<double>(n));
    }
    f.Gauge("threadline_journey_subscribers", "SubscribeJourney streams open now", {},
            static_cast<double>(j.subscribers));
    f.Histogram("threadline_journey_end_to_end_seconds",
                "from an event's recorded_at in its department to its projection in the journey",
                {}, j.end_to_end);
  }
  for (const auto& [service, serving] : s.serving) {
    f.Gauge("threadline_service_serving",
            "1 when the service reports SERVING on the gRPC health service", {{"service", service}},
            serving ? 1 : 0);
  }
  f.Gauge("threadline_build_info",
          "1, labelled with the version and source commit of this binary (threadline --version)",
          {{"version", std::string(BuildVersion())}, {"commit", std::string(BuildCommit())}}, 1);
  f.Gauge("threadline_bus_reachable", "1 when the last look at the bus succeeded", {},
          s.bus_reachable ? 1 : 0);
  for (const auto& st : s.stores) {
    Labels l{{"store", st.store}};
    f.Gauge("threadline_store_writable",
            "1 while the store accepts writes; 0 after a failed write (a full disk) until it "
            "has recovered by itself",
            l, st.health.writable ? 1 : 0);
    f.Counter("threadline_store_write_errors_total",
              "writes that failed or were refused because the store could not write, and "
              "flushes or compactions that could not write",
              l, static_cast<double>(st.health.write_errors));
    f.Counter("threadline_store_recoveries_total",
              "times the store recovered from a write error by itself", l,
              static_cast<double>(st.health.recoveries));
  }
  if (s.policy) {
    f.Gauge("threadline_policy_info",
            "1, labelled with the SHA-256 of the policy in force (threadline policy check FILE "
            "prints a file's)",
            {{"digest", s.policy->digest}}, 1);
    const std::string help =
        "policy reloads (SIGHUP): applied a file with another digest, found it unchanged, or "
        "refused it and kept the policy in force";
    f.Counter("threadline_policy_reloads_total", help, {{"result", "applied"}},
              static_cast<double>(s.policy->reloads_applied));
    f.Counter("threadline_policy_reloads_total", help, {{"result", "unchanged"}},
              static_cast<double>(s.policy->reloads_unchanged));
    f.Counter("threadline_policy_reloads_total", help, {{"result", "refused"}},
              static_cast<double>(s.policy->reloads_refused));
  }
  if (s.data_dir) {
    f.Gauge("threadline_data_dir_free_bytes",
            "bytes free for the stores on the data directory's filesystem (statvfs f_bavail)", {},
            static_cast<double>(s.data_dir->free_bytes));
    f.Gauge("threadline_data_dir_size_bytes", "size of the data directory's filesystem", {},
            static_cast<double>(s.data_dir->size_bytes));
  }
}

class SuiteCollectable final : public prometheus::Collectable {
 public:
  SuiteCollectable(const server::ServerStats* server, std::function<SuiteSample()> sample)
      : server_(server), sample_(std::move(sample)) {}

  std::vector<MetricFamily> Collect() const override {
    Families f;
    if (server_) AddServer(f, *server_);
    if (sample_) AddSuite(f, sample_());
    return f.Take();
  }

 private:
  const server::ServerStats* server_;
  std::function<SuiteSample()> sample_;
};

}  // namespace

struct Exporter::Impl {
  std::shared_ptr<SuiteCollectable> collectable;
  std::unique_ptr<prometheus::Exposer> exposer;
  int port = 0;
  std::mutex mu;
};

Exporter::Exporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Exporter::~Exporter() { Stop(); }

absl::StatusOr<std::unique_ptr<Exporter>> Exporter::Start(const ExporterOptions& options,
                                                          const server::ServerStats* server,
                                                          std::function<SuiteSample()> sample) {
  auto impl = std::make_unique<Impl>();
  impl->collectable = std::make_shared<SuiteCollectable>(server, std::move(sample));
  // prometheus-cpp (civetweb) reports a failed bind by throwing; no
  // exception leaves this library.
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(options.listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError("cannot serve metrics on " + options.listen + ": " + e.what() +
                                  "; choose another --metrics-listen address");
  }
  impl->exposer->RegisterCollectable(impl->collectable);
  auto ports = impl->exposer->GetListeningPorts();
  impl->port = ports.empty() ? 0 : ports.front();
  return std::unique_ptr<Exporter>(new Exporter(std::move(impl)));
}

int Exporter::port() const { return impl_->port; }

void Exporter::Stop() {
  std::lock_guard lock(impl_->mu);
  // Destroying the exposer joins its HTTP threads, so no scrape reads the
  // components after this returns.
  impl_->exposer.reset();
}

std::string Exporter::Render() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->collectable->Collect());
  return out.str();
}

}  // namespace threadline::metrics
