#include "threadline/server/server.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "active_server.h"
#include "grpc/health/v1/health.pb.h"
#include "streams.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/server/face.h"
#include "threadline/v1/billing.grpc.pb.h"
#include "threadline/v1/installation.grpc.pb.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/sales.grpc.pb.h"
#include "threadline/v1/support.grpc.pb.h"

namespace threadline::server {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("server");
  return *log;
}

std::atomic<const CallHandler*> g_active_handler{nullptr};

struct HostPort {
  std::string host;
  std::string port;
  bool unix_socket = false;
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::optional<HostPort> SplitListen(std::string_view listen) {
  HostPort hp;
  if (StartsWith(listen, "unix:") || StartsWith(listen, "unix-abstract:")) {
    hp.unix_socket = true;
    return hp;
  }
  for (std::string_view scheme : {"ipv4:", "ipv6:", "dns:"}) {
    if (StartsWith(listen, scheme)) listen.remove_prefix(scheme.size());
  }
  if (StartsWith(listen, "[")) {
    size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return std::nullopt;
    }
    hp.host = std::string(listen.substr(1, close - 1));
    hp.port = std::string(listen.substr(close + 2));
    return hp;
  }
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  hp.host = std::string(listen.substr(0, colon));
  hp.port = std::string(listen.substr(colon + 1));
  return hp;
}

// gRPC reports only that it could not add the port; binding a probe socket
// the same way tells the operator why.
std::string DiagnoseListenFailure(const std::string& listen) {
  auto hp = SplitListen(listen);
  if (!hp) return "not a host:port address";
  if (hp->unix_socket) return "cannot create the unix socket (directory missing or not writable?)";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai =
      ::getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), hp->port.c_str(), &hints, &res);
  if (gai != 0) return "cannot resolve '" + hp->host + "': " + ::gai_strerror(gai);
  std::string reason;
  for (addrinfo* ai = res; ai != nullptr && reason.empty(); ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 1) != 0) {
      int err = errno;
      if (err == EADDRINUSE) {
        reason =
            "address already in use: another process listens there; stop it or choose "
            "another port";
      } else if (err == EADDRNOTAVAIL) {
        reason = "address not available: it is not an address of this host";
      } else if (err == EACCES) {
        reason = "permission denied: ports below 1024 need privileges";
      } else {
        reason = std::strerror(err);
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (reason.empty()) reason = "gRPC could not add the port (see gRPC's log above)";
  return reason;
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError("cannot read " + std::string(flag) + " file " + path + ": " +
                               std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(std::string(flag) + " file " + path + " is not PEM");
  }
  return pem;
}

// Checked here because gRPC only says "could not add the port" about a bad
// certificate or a key that does not belong to it.
absl::Status CheckCertAndKey(const std::string& cert_pem, const std::string& key_pem,
                             const ServerOptions& o) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  absl::Status status;
  if (cert == nullptr) {
    status = absl::InvalidArgumentError("--tls-cert file " + o.tls_cert +
                                        " holds no readable certificate");
  } else if (key == nullptr) {
    status = absl::InvalidArgumentError("--tls-key file " + o.tls_key +
                                        " holds no readable, unencrypted private key");
  } else if (X509_check_private_key(cert, key) != 1) {
    status = absl::InvalidArgumentError("--tls-key " + o.tls_key +
                                        " is not the key of the certificate in " + o.tls_cert);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return status;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(const ServerOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: pass both or neither");
  }
  if (o.tls_cert.empty()) {
    if (!o.tls_client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first");
    }
    return grpc::InsecureServerCredentials();
  }
  ASSIGN_OR_RETURN(std::string cert, ReadPemFile(o.tls_cert, "--tls-cert"));
  ASSIGN_OR_RETURN(std::string key, ReadPemFile(o.tls_key, "--tls-key"));
  RETURN_IF_ERROR(CheckCertAndKey(cert, key, o));
  grpc::SslServerCredentialsOptions ssl(
      o.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!o.tls_client_ca.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPemFile(o.tls_client_ca, "--tls-client-ca"));
  }
  ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

// The full name of a Threadline service, for its health status; empty for
// anything else.
std::string ThreadlineServiceName(grpc::Service* s) {
  if (auto* face = dynamic_cast<Face*>(s)) return face->service_name();
  if (dynamic_cast<v1::SalesService::Service*>(s)) {
    return std::string(v1::SalesService::service_full_name());
  }
  if (dynamic_cast<v1::InstallationService::Service*>(s)) {
    return std::string(v1::InstallationService::service_full_name());
  }
  if (dynamic_cast<v1::SupportService::Service*>(s)) {
    return std::string(v1::SupportService::service_full_name());
  }
  if (dynamic_cast<v1::BillingService::Service*>(s)) {
    return std::string(v1::BillingService::service_full_name());
  }
  if (dynamic_cast<v1::JourneyService::Service*>(s)) {
    return std::string(v1::JourneyService::service_full_name());
  }
  return "";
}

}  // namespace

const CallHandler* ActiveHandler() { return g_active_handler.load(std::memory_order_acquire); }

bool ClaimActiveHandler(const CallHandler* handler) {
  const CallHandler* expected = nullptr;
  return g_active_handler.compare_exchange_strong(expected, handler, std::memory_order_acq_rel);
}

void ReleaseActiveHandler(const CallHandler* handler) {
  const CallHandler* expected = handler;
  g_active_handler.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel);
}

bool IsLoopbackAddress(std::string_view listen) {
  auto hp = SplitListen(listen);
  if (!hp) return false;
  if (hp->unix_socket) return true;
  std::string host = hp->host;
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

namespace {

StreamLimits LimitsFrom(const ServerOptions& o) {
  StreamLimits l;
  l.max_streams = o.max_streams;
  l.max_streams_per_principal = o.max_streams_per_principal;
  l.write_timeout = o.stream_write_timeout;
  l.threads = o.stream_threads;
  return l;
}

absl::Status CheckLimits(const ServerOptions& o) {
  if (o.max_streams == 0)
    return absl::InvalidArgumentError("--grpc-max-streams must be at least 1");
  if (o.max_streams_per_principal == 0) {
    return absl::InvalidArgumentError("--grpc-max-streams-per-principal must be at least 1");
  }
  if (o.stream_write_timeout.count() <= 0) {
    return absl::InvalidArgumentError("--grpc-stream-write-timeout-ms must be positive");
  }
  if (o.stream_threads == 0) return absl::InvalidArgumentError("stream_threads must be at least 1");
  if (o.keepalive_time.count() <= 0 || o.keepalive_timeout.count() <= 0) {
    return absl::InvalidArgumentError(
        "--grpc-keepalive-time-ms and --grpc-keepalive-timeout-ms must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

GrpcServer::GrpcServer(std::unique_ptr<Authenticator> auth, std::string listen,
                       const ServerOptions& options)
    : auth_(std::move(auth)),
      streams_(std::make_unique<Streams>(LimitsFrom(options), auth_.get(), &stats_)),
      handler_(auth_.get(), &stats_, streams_.get()),
      listen_(std::move(listen)) {}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::milliseconds(0)); }

size_t GrpcServer::open_streams() const { return streams_->open(); }

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const ServerOptions& options, std::vector<grpc::Service*> services) {
  if (options.listen.empty()) return absl::InvalidArgumentError("listen address is empty");
  if (options.max_message_bytes <= 0) {
    return absl::InvalidArgumentError("max_message_bytes must be positive");
  }
  RETURN_IF_ERROR(CheckLimits(options));
  for (auto* s : services) {
    if (s == nullptr) return absl::InvalidArgumentError("null service passed to GrpcServer::Start");
    if (auto* face = dynamic_cast<Face*>(s)) RETURN_IF_ERROR(face->CheckComplete());
  }
  const bool loopback = IsLoopbackAddress(options.listen);
  std::unique_ptr<Authenticator> auth;
  if (!options.tokens_file.empty()) {
    ASSIGN_OR_RETURN(auth, Authenticator::FromFile(options.tokens_file));
  } else if (!loopback && !options.allow_open) {
    return absl::FailedPreconditionError(
        "refusing to serve " + options.listen +
        " without authentication: anyone who can reach it would be admin. Pass "
        "--tokens-file=FILE (lines 'TOKEN PRINCIPAL ROLE'), or listen on 127.0.0.1 for local use");
  } else {
    auth = Authenticator::Open();
  }
  ASSIGN_OR_RETURN(auto credentials, MakeCredentials(options));

  auto server =
      std::unique_ptr<GrpcServer>(new GrpcServer(std::move(auth), options.listen, options));
  // Claimed before the port opens so that no call can find no handler.
  if (!ClaimActiveHandler(&server->handler_)) {
    server->shut_down_ = true;  // nothing to shut down; keep the other's claim
    return absl::FailedPreconditionError(
        "another GrpcServer is already running in this process; serve every service from one "
        "GrpcServer");
  }

  // Both are process-wide switches read by every ServerBuilder.
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    // Reflection describes services from the generated descriptor pool, and
    // gRPC's built-in health service is not generated C++ (it is written on
    // upb), so reflection would list grpc.health.v1.Health without being
    // able to describe it. Naming the generated descriptor links it in.
    grpc::health::v1::HealthCheckRequest::descriptor();
  });

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which lets a second server share a
  // port silently; a port in use must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Dead clients: ping connections that have calls open, and close those
  // that do not answer, which cancels their streams. Pings continue on a
  // stream that sends nothing (an idle subscription), which gRPC otherwise
  // stops after two.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(options.keepalive_time.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(options.keepalive_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  for (auto* s : services) builder.RegisterService(s);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    return absl::UnavailableError("cannot listen on " + options.listen + ": " +
                                  DiagnoseListenFailure(options.listen));
  }

  auto* health = server->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  for (auto* s : services) {
    std::string name = ThreadlineServiceName(s);
    if (name.empty()) {
      Log().Warn(
          "serving a service outside the authorisation policy; calls through "
          "server::Handle will be denied");
      continue;
    }
    health->SetServingStatus(name, true);
  }

  if (server->auth_->open()) {
    Log().Warn(
        "RUNNING WITHOUT AUTHENTICATION: every caller is admin; pass --tokens-file to "
        "require bearer tokens",
        {{"listen", options.listen}, {"port", server->port_}});
  } else if (!loopback && options.tls_cert.empty()) {
    Log().Warn("bearer tokens cross the network in clear text; pass --tls-cert and --tls-key",
               {{"listen", options.listen}});
  }
  Log().Info("gRPC server started", {{"listen", options.listen},
                                     {"port", server->port_},
                                     {"tls", options.tls_cert.empty()        ? "off"
                                             : options.tls_client_ca.empty() ? "on"
                                                                             : "mutual"},
                                     {"tokens", server->auth_->token_count()},
                                     {"services", services.size()}});
  return server;
}

void GrpcServer::ReloadTokens() {
  if (auth_->open()) {
    Log().Warn("token reload asked for, but the server runs open without a tokens file");
    return;
  }
  if (absl::Status s = auth_->Reload(); !s.ok()) {
    Log().Error("token reload failed; the previous tokens stay in force",
                {{"error", s.ToString()}});
    return;
  }
  Log().Info("tokens reloaded", {{"path", auth_->path()}, {"tokens", auth_->token_count()}});
}

void GrpcServer::SetServing(const std::string& service_name, bool serving) {
  if (server_ == nullptr) return;
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(service_name, serving);
  }
}

void GrpcServer::Shutdown(std::chrono::milliseconds drain) {
  std::lock_guard lock(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) {
    // Probes see NOT_SERVING first, so load balancers stop sending calls.
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + drain);
    server_->Wait();
    Log().Info("gRPC server stopped", {{"listen", listen_}, {"port", port_}});
  }
  // Every call has ended, so no stream needs its threads any more.
  streams_->Stop();
  ReleaseActiveHandler(&handler_);
}

}  // namespace threadline::server
