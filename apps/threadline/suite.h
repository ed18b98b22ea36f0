#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/journey/http.h"
#include "threadline/policy/policy.h"
#include "threadline/server/server.h"

namespace threadline::app {

inline const std::vector<std::string> kAllTargets = {"sales",   "installation", "support",
                                                     "billing", "journey",      "privacy"};

struct SuiteOptions {
  // Services to run in this process. Default: all of them.
  std::set<std::string> targets{kAllTargets.begin(), kAllTargets.end()};
  // Kafka bootstrap servers; empty runs on the embedded bus.
  std::string kafka_brokers;
  // Extra librdkafka settings (security.protocol, ssl.*, sasl.*).
  std::vector<std::pair<std::string, std::string>> kafka_config;
  // Root of every RocksDB directory. Default: ./var/threadline.
  std::string data_dir = "var/threadline";
  // gRPC listen address. Default: 127.0.0.1:50051.
  std::string listen = "127.0.0.1:50051";
  // Bearer tokens; empty runs open (loopback only).
  std::string tokens_file;
  // The operator's policy file (SLA targets, calendars, roles), re-read by
  // ReloadPolicy (SIGHUP). Default: empty, the shipped policy.
  std::string policy_file;
  // The policy as LoadPolicyFile(policy_file) read it before the start, so
  // that a bad file is refused like a bad flag. Unset: Start reads it.
  std::optional<policy::Policy> policy;
  // Partitions of each topic when the suite creates them. Default: 6.
  int partitions = 6;
  // Replicas of each topic the suite creates on Kafka; -1: the broker's
  // default.replication.factor. Default: -1.
  int replication_factor = -1;
  // min.insync.replicas of the department, privacy and dead-letter topics
  // the suite creates; 0: the broker's default. Default: 0.
  int min_insync_replicas = 0;
  // TLS for the gRPC server (PEM paths); empty: plaintext.
  std::string tls_cert, tls_key, tls_client_ca;
  // host:port of the journey's HTTP dashboard, JSON API and event stream,
  // with the gRPC server's tokens. Default: empty, no HTTP.
  std::string http_listen;
  // host:port of the Prometheus metrics endpoint (GET /metrics), on its own
  // port so it needs no tokens and can stay inside the cluster network.
  // Default: empty, no metrics endpoint.
  std::string metrics_listen;
  // How often service health (caught up, bus reachable) is re-checked.
  // Default: 1 s.
  std::chrono::milliseconds health_interval{1000};
  // Whether this process's journey republishes its updates to
  // threadline.journey.v1 and parks dead letters. With several journey
  // replicas (full copies) exactly one should, or the topics get every
  // update once per replica. Default: true.
  bool journey_publish = true;
  // This process's name in the dead letters it parks. Default: host name.
  std::string instance;
  // The master key that wraps every data key in the key vault (64 hex
  // digits). Empty: DATA_DIR/privacy/master.key, made on first start
  // (docs/privacy.md says why production keeps it elsewhere).
  std::string master_key_file;
  // The master key before a rotation: the vault is rewrapped under
  // master_key_file at start-up (docs/privacy.md).
  std::string previous_master_key_file;
  // host:port of the process that runs the privacy target, for a process
  // without it: its departments and journey fetch data keys from there
  // (KeyService) and keep them in memory only. A process with departments
  // or the journey needs one or the other.
  std::string privacy_address;
  // host:port of the process that runs the journey, for a privacy target
  // without it: exports are read from there (JourneyExportService).
  std::string journey_address;
  // The bearer token this process presents to those two (a token of the
  // service role in their tokens files), and the CA certificate that
  // verifies their TLS. Empty: no token, plaintext.
  std::string peer_token_file, peer_tls_ca;
  // The gRPC server's stream limits and keepalive, and the HTTP listener's
  // limits: their meaning and defaults are on the fields of
  // server::ServerOptions and journey::JourneyHttpOptions. (Addresses,
  // tokens and TLS come from the fields above.)
  server::ServerOptions grpc;
  journey::JourneyHttpOptions http;
};

// Every part of a running suite: bus, stores, relays, services, projector
// and the gRPC server, started in dependency order and stopped in reverse.
class Suite {
 public:
  static absl::StatusOr<std::unique_ptr<Suite>> Start(const SuiteOptions& options);
  virtual ~Suite() = default;
  virtual int port() const = 0;
  // Graceful stop: NOT_SERVING, drain RPCs, stop consumers, flush relays
  // and producers, close stores.
  virtual void Shutdown() = 0;
  // Reloads the tokens file (SIGHUP).
  virtual void ReloadTokens() = 0;
  // Re-reads the policy file (SIGHUP). A file LoadPolicyFile refuses is
  // logged with its file, line and key, and the running policy stays in
  // force whole. One with another digest is put in force (roles, then the
  // departments' targets and limits), logged, and recorded as PolicyChanged
  // in every department store of this process. Called from one thread.
  virtual void ReloadPolicy() = 0;
};

// Reads a policy file (policy::Policy::Load) and checks that its roles name
// real methods (server::CheckAccessPolicy): what `serve` refuses to start
// with, a reload keeps out, and `policy check` reports. Errors are
// INVALID_ARGUMENT or NOT_FOUND, their message starting with the file
// ("policy.yaml:5: sla.tickets[0].prority: unknown key; ..."). An empty
// `file` is the shipped policy.
[[nodiscard]] absl::StatusOr<policy::Policy> LoadPolicyFile(const std::string& file);

// Rebuilds the event store `name` (sales, installation, support, billing or
// privacy) from its own topic into the fresh directory `path`
// (outbox::RecoverStore), then verifies it.
absl::Status RecoverEventStore(const SuiteOptions& options, const std::string& name,
                               const std::string& path, bool progress);

// Replays every department topic into a fresh journey store at `path`.
absl::Status RebuildJourney(const SuiteOptions& options, const std::string& path, bool progress);

// A digest of every timeline and context card in the journey store at
// `path` (not in use by a running suite): equal digests, equal journeys.
absl::StatusOr<std::string> JourneyFingerprint(const SuiteOptions& options, const std::string& path,
                                               const std::vector<std::string>& customers);

}  // namespace threadline::app
