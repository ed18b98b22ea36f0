// threadline: the one binary of the suite.
//   threadline serve [--target=all|sales,journey,...] [--kafka-brokers=H:P] ...
//   threadline journey rebuild --out=DIR [--kafka-brokers=H:P] [--data-dir=DIR]
//   threadline store verify --path=DIR
//   threadline store recover --store=sales --path=DIR [--kafka-brokers=H:P]
//   threadline policy check FILE
//   threadline policy defaults

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <map>
#include <sstream>

#include "suite.h"
#include "threadline/common/log.h"
#include "threadline/eventstore/event_store.h"
#include "threadline/metrics/build_info.h"
#include "threadline/policy/policy.h"
#include "threadline/server/signals.h"

namespace {

std::set<std::string> ParseTargets(const std::string& list) {
  std::set<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "all") {
      out.insert(threadline::app::kAllTargets.begin(), threadline::app::kAllTargets.end());
    } else if (!item.empty()) {
      out.insert(item);
    }
  }
  return out;
}

void AddCommonFlags(CLI::App* cmd, threadline::app::SuiteOptions& o,
                    std::vector<std::string>& kafka_config) {
  cmd->add_option("--kafka-brokers", o.kafka_brokers,
                  "Kafka bootstrap servers; without it the embedded bus is used")
      ->envname("THREADLINE_KAFKA_BROKERS");
  cmd->add_option("--kafka-config", kafka_config,
                  "extra librdkafka setting KEY=VALUE (security.protocol, ssl.*, sasl.*); "
                  "repeatable")
      ->envname("THREADLINE_KAFKA_CONFIG")
      ->delimiter(';');
  cmd->add_option("--data-dir", o.data_dir, "root directory of the RocksDB stores")
      ->envname("THREADLINE_DATA_DIR")
      ->capture_default_str();
  cmd->add_option("--master-key-file", o.master_key_file,
                  "the key vault's master key, 64 hex digits (default: DATA_DIR/privacy/"
                  "master.key, made on first start)")
      ->envname("THREADLINE_MASTER_KEY_FILE");
  cmd->add_option("--privacy-address", o.privacy_address,
                  "host:port of the process that runs the privacy target, for a process "
                  "without it: data keys are fetched from there and kept in memory only")
      ->envname("THREADLINE_PRIVACY_ADDRESS");
  cmd->add_option("--peer-token-file", o.peer_token_file,
                  "file with the bearer token (service role) this process presents to "
                  "--privacy-address and --journey-address")
      ->envname("THREADLINE_PEER_TOKEN_FILE");
  cmd->add_option("--peer-tls-ca", o.peer_tls_ca,
                  "CA certificate (PEM) that verifies the TLS of --privacy-address and "
                  "--journey-address; without it those calls are plaintext")
      ->envname("THREADLINE_PEER_TLS_CA");
  cmd->add_option("--partitions", o.partitions, "partitions per topic when creating topics")
      ->envname("THREADLINE_PARTITIONS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--kafka-replication-factor", o.replication_factor,
                  "replicas of each topic the suite creates (-1: the broker's "
                  "default.replication.factor)")
      ->envname("THREADLINE_KAFKA_REPLICATION_FACTOR")
      ->check(CLI::Range(-1, 32))
      ->capture_default_str();
  cmd->add_option("--kafka-min-insync-replicas", o.min_insync_replicas,
                  "min.insync.replicas of the department, privacy and dead-letter topics the "
                  "suite creates (0: the broker's default)")
      ->envname("THREADLINE_KAFKA_MIN_INSYNC_REPLICAS")
      ->check(CLI::Range(0, 32))
      ->capture_default_str();
}

// A duration flag in milliseconds, for `target`.
void AddMillis(CLI::App* cmd, const std::string& flag, const std::string& env,
               std::chrono::milliseconds& target, const std::string& help) {
  cmd->add_option_function<int64_t>(
         flag, [&target](const int64_t& ms) { target = std::chrono::milliseconds(ms); }, help)
      ->envname(env)
      ->check(CLI::PositiveNumber)
      ->default_str(std::to_string(target.count()));
}

// The limits no client can exceed (docs/operations.md, "Limits"); defaults
// from server::ServerOptions and journey::JourneyHttpOptions.
void AddLimitFlags(CLI::App* serve, threadline::app::SuiteOptions& o) {
  auto& g = o.grpc;
  serve
      ->add_option("--grpc-max-streams", g.max_streams,
                   "gRPC server streams (SubscribeJourney) open at once on this server; more are "
                   "refused with RESOURCE_EXHAUSTED")
      ->envname("THREADLINE_GRPC_MAX_STREAMS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  serve
      ->add_option("--grpc-max-streams-per-principal", g.max_streams_per_principal,
                   "gRPC server streams one principal (token) may hold open at once")
      ->envname("THREADLINE_GRPC_MAX_STREAMS_PER_PRINCIPAL")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  AddMillis(serve, "--grpc-stream-write-timeout-ms", "THREADLINE_GRPC_STREAM_WRITE_TIMEOUT_MS",
            g.stream_write_timeout,
            "a gRPC stream whose client takes no message for this long is ended");
  AddMillis(serve, "--grpc-keepalive-time-ms", "THREADLINE_GRPC_KEEPALIVE_TIME_MS",
            g.keepalive_time, "ping gRPC connections with open calls this often");
  AddMillis(serve, "--grpc-keepalive-timeout-ms", "THREADLINE_GRPC_KEEPALIVE_TIMEOUT_MS",
            g.keepalive_timeout,
            "close a gRPC connection (ending its streams) whose ping is not answered within this");
  auto& h = o.http;
  serve
      ->add_option("--http-max-body-bytes", h.max_body_bytes,
                   "largest HTTP request body; larger ones get 413 before they are read")
      ->envname("THREADLINE_HTTP_MAX_BODY_BYTES")
      ->capture_default_str();
  AddMillis(serve, "--http-header-timeout-ms", "THREADLINE_HTTP_HEADER_TIMEOUT_MS",
            h.header_timeout, "an HTTP request's line and headers must arrive within this");
  AddMillis(serve, "--http-read-timeout-ms", "THREADLINE_HTTP_READ_TIMEOUT_MS", h.read_timeout,
            "an HTTP request's body must arrive within this after its headers");
  AddMillis(serve, "--http-write-timeout-ms", "THREADLINE_HTTP_WRITE_TIMEOUT_MS", h.write_timeout,
            "longest wait for an HTTP client to take response bytes");
  AddMillis(serve, "--http-keep-alive-timeout-ms", "THREADLINE_HTTP_KEEP_ALIVE_TIMEOUT_MS",
            h.keep_alive_timeout, "an idle keep-alive HTTP connection is closed after this");
  serve
      ->add_option("--http-keep-alive-max-requests", h.keep_alive_max_requests,
                   "requests served on one HTTP connection before it is closed")
      ->envname("THREADLINE_HTTP_KEEP_ALIVE_MAX_REQUESTS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  serve
      ->add_option("--http-max-connections", h.max_connections,
                   "HTTP connections open at once; more are answered 503 and closed")
      ->envname("THREADLINE_HTTP_MAX_CONNECTIONS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  serve
      ->add_option("--http-max-connections-per-ip", h.max_connections_per_ip,
                   "HTTP connections open at once from one client address (0: no limit; behind "
                   "a proxy, raise it to --http-max-connections)")
      ->envname("THREADLINE_HTTP_MAX_CONNECTIONS_PER_IP")
      ->capture_default_str();
  serve
      ->add_option("--http-max-streams", h.max_streams,
                   "HTTP event streams open at once (each holds a connection); more get 503")
      ->envname("THREADLINE_HTTP_MAX_STREAMS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

bool ParseKafkaConfig(const std::vector<std::string>& in, threadline::app::SuiteOptions& o) {
  for (const auto& kv : in) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "threadline: --kafka-config expects KEY=VALUE, got '" << kv << "'\n";
      return false;
    }
    o.kafka_config.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return true;
}

// `threadline store verify`: 0 when the store is sound, 1 when it is not or
// cannot be opened, 2 when there is no store at `path`.
int VerifyStore(const std::string& path) {
  threadline::eventstore::Options o;
  o.path = path;
  o.must_exist = true;
  auto store = threadline::eventstore::EventStore::Open(o);
  if (!store.ok()) {
    std::cerr << "threadline: cannot verify: " << store.status() << "\n";
    return store.status().code() == absl::StatusCode::kNotFound ? 2 : 1;
  }
  auto report = (*store)->Verify();
  if (!report.ok()) {
    std::cerr << "threadline: cannot verify " << path << ": " << report.status() << "\n";
    return 1;
  }
  std::cout << "store " << path << ": " << report->events << " events, " << report->streams
            << " streams, last position " << report->last_position << "\n";
  for (const auto& p : report->problems) std::cout << "problem: " << p << "\n";
  if (report->more_problems > 0) {
    std::cout << "problem: " << report->more_problems << " more not shown\n";
  }
  if (!report->ok()) {
    std::cerr << "threadline: store " << path
              << " failed verification: " << report->problems.size() + report->more_problems
              << " problems (checksums, global sequence or stream index)\n";
    return 1;
  }
  std::cout << "store " << path
            << ": ok (checksums, gap-free global sequence, stream index agrees with the log)\n";
  return 0;
}

// `threadline policy check`: 0 and a summary when the file is a valid
// policy, 1 and the reason (file, line, key) on stderr when it is not: what
// `serve --policy-file` would refuse to start with, roles that name no
// method included.
int CheckPolicy(const std::string& file) {
  auto policy = threadline::app::LoadPolicyFile(file);
  if (!policy.ok()) {
    std::cerr << "threadline: " << policy.status().message() << "\n";
    return 1;
  }
  std::cout << "policy " << file << ": ok, digest " << policy->digest() << "\n"
            << policy->Summary();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Threadline: one thread per customer, across every department"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "threadline " +
                                        std::string(threadline::metrics::BuildVersion()) + " (" +
                                        std::string(threadline::metrics::BuildCommit()) + ")");
  threadline::app::SuiteOptions options;
  std::vector<std::string> kafka_config;
  std::string targets = "all";
  std::string log_format = "text";

  app.add_option("--log-format", log_format, "text (to stderr) or json (to stdout)")
      ->envname("THREADLINE_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->envname("THREADLINE_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();

  auto* serve = app.add_subcommand("serve", "run services");
  serve
      ->add_option("--target", targets,
                   "all, or a comma-separated list of sales, installation, support, billing, "
                   "journey, privacy")
      ->envname("THREADLINE_TARGET")
      ->capture_default_str();
  serve->add_option("--listen", options.listen, "gRPC listen address (port 0: any free port)")
      ->envname("THREADLINE_LISTEN")
      ->capture_default_str();
  serve
      ->add_option("--tokens-file", options.tokens_file,
                   "bearer tokens, one 'TOKEN PRINCIPAL ROLE' per line")
      ->envname("THREADLINE_TOKENS_FILE");
  serve
      ->add_option("--policy-file", options.policy_file,
                   "the operator's policy (YAML: SLA targets, business hours, roles), re-read on "
                   "SIGHUP; check one with `threadline policy check FILE` (default: the shipped "
                   "policy)")
      ->envname("THREADLINE_POLICY_FILE");
  serve
      ->add_option("--previous-master-key-file", options.previous_master_key_file,
                   "the master key before a rotation: the vault is rewrapped at start-up")
      ->envname("THREADLINE_PREVIOUS_MASTER_KEY_FILE");
  serve
      ->add_option("--journey-address", options.journey_address,
                   "host:port of the process that runs the journey, for a privacy target "
                   "without it: exports are read from there")
      ->envname("THREADLINE_JOURNEY_ADDRESS");
  serve->add_option("--tls-cert", options.tls_cert, "server certificate (PEM)")
      ->envname("THREADLINE_TLS_CERT");
  serve->add_option("--tls-key", options.tls_key, "server private key (PEM)")
      ->envname("THREADLINE_TLS_KEY");
  serve
      ->add_option("--tls-client-ca", options.tls_client_ca,
                   "CA for client certificates; set it to require mutual TLS")
      ->envname("THREADLINE_TLS_CLIENT_CA");
  serve
      ->add_option("--http-listen", options.http_listen,
                   "journey dashboard, JSON API and event stream over HTTP on host:port "
                   "(with the journey target; default: off)")
      ->envname("THREADLINE_HTTP_LISTEN");
  serve
      ->add_option("--metrics-listen", options.metrics_listen,
                   "Prometheus metrics (GET /metrics) on host:port, without tokens: keep it "
                   "inside the cluster network (default: off)")
      ->envname("THREADLINE_METRICS_LISTEN");
  serve
      ->add_option("--journey-publish", options.journey_publish,
                   "republish journey updates to threadline.journey.v1 and park dead letters; "
                   "with several journey replicas, true on exactly one")
      ->envname("THREADLINE_JOURNEY_PUBLISH")
      ->capture_default_str();
  serve
      ->add_option("--instance", options.instance,
                   "this process's name in the dead letters it parks (default: host name, the "
                   "pod name on Kubernetes)")
      ->envname("THREADLINE_INSTANCE");
  AddCommonFlags(serve, options, kafka_config);
  AddLimitFlags(serve, options);

  auto* journey = app.add_subcommand("journey", "journey projection tools");
  journey->require_subcommand(1);
  auto* rebuild = journey->add_subcommand(
      "rebuild", "replay every department topic into a fresh journey store");
  std::string rebuild_out;
  rebuild->add_option("--out", rebuild_out, "fresh directory for the rebuilt journey store")
      ->envname("THREADLINE_REBUILD_OUT")
      ->required();
  AddCommonFlags(rebuild, options, kafka_config);
  auto* fingerprint = journey->add_subcommand(
      "fingerprint", "print a digest of a journey store, to compare a rebuild with the live one");
  std::string fingerprint_path;
  fingerprint->add_option("--path", fingerprint_path, "journey store directory")
      ->envname("THREADLINE_FINGERPRINT_PATH")
      ->required();
  std::vector<std::string> fingerprint_customers;
  fingerprint->add_option("--customer", fingerprint_customers,
                          "only this customer's timeline, card and index entries (repeatable)");
  AddCommonFlags(fingerprint, options, kafka_config);

  auto* store = app.add_subcommand("store", "department event store tools");
  store->require_subcommand(1);
  auto* verify = store->add_subcommand(
      "verify",
      "check a stopped department store: checksums, a gap-free global sequence, and a stream "
      "index that agrees with the log");
  std::string verify_path;
  verify->add_option("--path", verify_path, "the store's directory, e.g. DATA_DIR/sales")
      ->envname("THREADLINE_VERIFY_PATH")
      ->required();

  auto* recover = store->add_subcommand(
      "recover",
      "rebuild a lost or damaged event store from its own topic into a fresh directory: every "
      "published event, with its idempotent answers, claims and reaction offsets");
  std::string recover_store, recover_path;
  recover
      ->add_option("--store", recover_store,
                   "sales, installation, support, billing or privacy: whose topic to read")
      ->envname("THREADLINE_RECOVER_STORE")
      ->required();
  recover
      ->add_option("--path", recover_path,
                   "fresh directory for the store, e.g. DATA_DIR/sales once the damaged one is "
                   "moved aside")
      ->envname("THREADLINE_RECOVER_PATH")
      ->required();
  AddCommonFlags(recover, options, kafka_config);

  auto* policy = app.add_subcommand(
      "policy", "the operator's policy file: service levels, business hours, roles");
  policy->require_subcommand(1);
  auto* policy_check = policy->add_subcommand(
      "check", "validate a policy file; prints its digest and a summary, or what is wrong");
  std::string policy_file;
  policy_check->add_option("FILE", policy_file, "the policy file (YAML)")->required();
  auto* policy_defaults = policy->add_subcommand(
      "defaults", "print the shipped policy: every key with its default, to start a file from");

  CLI11_PARSE(app, argc, argv);
  threadline::LogOptions lo;
  lo.format = log_format;
  static const std::map<std::string, threadline::LogLevel> kLevels = {
      {"debug", threadline::LogLevel::kDebug},
      {"info", threadline::LogLevel::kInfo},
      {"warn", threadline::LogLevel::kWarn},
      {"error", threadline::LogLevel::kError}};
  lo.level = kLevels.at(log_level);
  threadline::ConfigureLogging(lo);
  if (!ParseKafkaConfig(kafka_config, options)) return 2;

  if (policy_check->parsed()) return CheckPolicy(policy_file);
  if (policy_defaults->parsed()) {
    std::cout << threadline::policy::Policy::Defaults().source();
    return 0;
  }
  if (verify->parsed()) return VerifyStore(verify_path);
  if (recover->parsed()) {
    auto s = threadline::app::RecoverEventStore(options, recover_store, recover_path, isatty(2));
    if (!s.ok()) {
      std::cerr << "threadline: store recover: " << s << "\n";
      return absl::IsFailedPrecondition(s) || absl::IsInvalidArgument(s) ? 2 : 1;
    }
    std::cout << "store " << recover_path << ": recovered from its topic and verified\n";
    return 0;
  }

  if (rebuild->parsed()) {
    auto s = threadline::app::RebuildJourney(options, rebuild_out, isatty(2));
    if (!s.ok()) {
      std::cerr << "threadline: rebuild failed: " << s << "\n";
      return 1;
    }
    return 0;
  }

  if (fingerprint->parsed()) {
    auto digest =
        threadline::app::JourneyFingerprint(options, fingerprint_path, fingerprint_customers);
    if (!digest.ok()) {
      std::cerr << "threadline: " << digest.status() << "\n";
      return 1;
    }
    std::cout << *digest << "\n";
    return 0;
  }

  options.targets = ParseTargets(targets);
  for (const auto& t : options.targets) {
    if (std::find(threadline::app::kAllTargets.begin(), threadline::app::kAllTargets.end(), t) ==
        threadline::app::kAllTargets.end()) {
      std::cerr << "threadline: unknown target '" << t
                << "'; use all, sales, installation, support, billing, journey or privacy\n";
      return 2;
    }
  }
  // A policy file that does not load is a bad flag: refused before anything
  // starts, with its file, line and key.
  auto loaded = threadline::app::LoadPolicyFile(options.policy_file);
  if (!loaded.ok()) {
    std::cerr << "threadline: --policy-file: " << loaded.status().message() << "\n";
    return 2;
  }
  options.policy = *std::move(loaded);
  // Block termination signals before any thread starts, so only the wait
  // below receives them.
  threadline::server::BlockTerminationSignals();
  auto suite = threadline::app::Suite::Start(options);
  if (!suite.ok()) {
    std::cerr << "threadline: cannot start: " << suite.status() << "\n";
    return 1;
  }
  if (log_format == "json") {
    // stdout carries only JSON lines in this mode.
    threadline::Logger("main").Info("listening on port", {{"port", (*suite)->port()}});
  } else {
    std::cout << "threadline: listening on port " << (*suite)->port() << std::endl;
  }
  while (true) {
    int sig = threadline::server::WaitForTermination();
    if (sig == SIGHUP) {
      (*suite)->ReloadTokens();
      (*suite)->ReloadPolicy();
      continue;
    }
    break;
  }
  (*suite)->Shutdown();
  return 0;
}
