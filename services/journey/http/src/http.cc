// With listener.cc, the only translation units that include httplib.h: its
// types stay out of every public header.

#include "threadline/journey/http.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "assets.h"
#include "listener.h"
#include "threadline/common/log.h"
#include "threadline/common/status.h"
#include "threadline/server/handler.h"
#include "threadline/server/server.h"
#include "threadline/v1/journey.grpc.pb.h"

namespace threadline::journey {
namespace {

const Logger& Log() {
  static const Logger* log = new Logger("journey-http");
  return *log;
}

// Connections the kernel queues before they are accepted.
constexpr int kListenBacklog = 1024;
// A page of the timeline over HTTP, as over gRPC.
constexpr int kMaxPageSize = 500;

int HttpCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

// Protobuf's JSON mapping (lowerCamelCase, enums by name, RFC 3339 times),
// with false and zero written out so the page need not know proto3 defaults.
std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, o).ok()) return "{}";
  return out;
}

void ReplyError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpCode(status.code());
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"threadline\"");
  }
  res.set_header("Cache-Control", "no-store");
  res.set_content("{\"code\":" + JsonString(absl::StatusCodeToString(status.code())) +
                      ",\"message\":" + JsonString(std::string(status.message())) + "}",
                  "application/json");
}

void ReplyJson(httplib::Response& res, const absl::StatusOr<std::string>& json) {
  if (!json.ok()) return ReplyError(res, json.status());
  res.set_header("Cache-Control", "no-store");
  res.set_content(*json, "application/json");
}

std::string_view ContentType(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "host:port" or "[v6]:port" into its parts (httplib wants them apart).
absl::StatusOr<std::pair<std::string, int>> SplitListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("HTTP listen address '" + listen +
                                      "' is not host:port (e.g. 127.0.0.1:8080)");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto port = ParseUint(std::string_view(listen).substr(colon + 1));
  if (!port || *port > 65535) {
    return absl::InvalidArgumentError("HTTP listen address '" + listen + "' has no valid port");
  }
  return std::make_pair(host, static_cast<int>(*port));
}

ListenerLimits LimitsOf(const JourneyHttpOptions& o) {
  ListenerLimits l;
  l.max_body_bytes = o.max_body_bytes;
  l.header_timeout = o.header_timeout;
  l.read_timeout = o.read_timeout;
  l.write_timeout = o.write_timeout;
  l.keep_alive_timeout = o.keep_alive_timeout;
  l.keep_alive_max_requests = o.keep_alive_max_requests;
  l.max_connections = o.max_connections;
  l.max_connections_per_ip = o.max_connections_per_ip;
  return l;
}

absl::Status CheckLimits(const JourneyHttpOptions& o) {
  using std::chrono::milliseconds;
  for (auto [flag, value] : {std::pair{"--http-header-timeout-ms", o.header_timeout},
                             std::pair{"--http-read-timeout-ms", o.read_timeout},
                             std::pair{"--http-write-timeout-ms", o.write_timeout},
                             std::pair{"--http-keep-alive-timeout-ms", o.keep_alive_timeout}}) {
    if (value <= milliseconds(0)) {
      return absl::InvalidArgumentError(std::string(flag) + " must be positive");
    }
  }
  if (o.keep_alive_max_requests == 0) {
    return absl::InvalidArgumentError("--http-keep-alive-max-requests must be at least 1");
  }
  // Every event stream holds a connection: streams may not take them all.
  if (o.max_streams >= o.max_connections) {
    return absl::InvalidArgumentError("--http-max-streams (" + std::to_string(o.max_streams) +
                                      ") must be below --http-max-connections (" +
                                      std::to_string(o.max_connections) +
                                      "), or event streams could hold every connection");
  }
  return absl::OkStatus();
}

// One open event stream; `dropped` ends it at the next check.
struct StreamState {
  std::atomic<bool> dropped{false};
};

class JourneyHttpImpl final : public JourneyHttp {
 public:
  JourneyHttpImpl(const JourneyHttpOptions& options, Projector* projector,
                  const server::Authenticator* auth)
      : options_(options),
        projector_(projector),
        auth_(auth),
        http_(LimitsOf(options_), [](httplib::Response& res, int code, const absl::Status& why) {
          ReplyError(res, why);
          res.status = code;
        }) {
    if (!options_.allowed) options_.allowed = &server::Allowed;
  }
  ~JourneyHttpImpl() override { Stop(); }

  absl::Status Init() {
    RETURN_IF_ERROR(CheckLimits(options_));
    ASSIGN_OR_RETURN(auto host_port, SplitListen(options_.listen));
    if (auth_->open() && !options_.allow_open && !server::IsLoopbackAddress(options_.listen)) {
      return absl::FailedPreconditionError("refusing to serve HTTP without tokens on " +
                                           options_.listen +
                                           ": pass --tokens-file, or listen on a loopback address");
    }
    // Every response: no framing by other sites, no MIME sniffing, and no
    // Referer, because URLs may carry ?access_token=.
    http_.set_default_headers({
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
    });
    http_.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
          Log().Error("request failed with an exception", {{"path", req.path}});
          ReplyError(res, absl::InternalError("internal error; see the server log"));
        });
    Routes();
    bool bound = host_port.second == 0 ? (port_ = http_.bind_to_any_port(host_port.first)) > 0
                                       : http_.bind_to_port(host_port.first, host_port.second);
    if (!bound) {
      return absl::UnavailableError("cannot listen for HTTP on " + options_.listen +
                                    " (in use, not a local address, or no permission)");
    }
    if (host_port.second != 0) port_ = host_port.second;
    http_.RaiseBacklog(kListenBacklog);
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    Log().Info("serving HTTP", {{"listen", options_.listen}, {"port", port_}});
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  size_t DropStreams() override {
    std::lock_guard lock(mu_);
    for (auto* s : streams_) s->dropped = true;
    return streams_.size();
  }

  void Stop() override {
    if (stopping_.exchange(true)) return;
    DropStreams();
    http_.stop();
    // Idle keep-alive connections and slow clients would otherwise hold
    // their threads until their timeouts.
    http_.CloseConnections();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Routes() {
    http_.Get("/",
              [](const httplib::Request&, httplib::Response& res) { Static("/index.html", res); });
    for (const auto& asset : web::Assets()) {
      std::string path(asset.path);
      http_.Get(path,
                [path](const httplib::Request&, httplib::Response& res) { Static(path, res); });
    }
    http_.Get("/api/v1/customers", [this](const httplib::Request& req, httplib::Response& res) {
      ReplyJson(res, Call(req, TL_GRPC_METHOD(JourneyService, FindCustomer), [&] {
                  v1::FindCustomerRequest r;
                  r.set_query(req.get_param_value("q"));
                  r.set_limit(static_cast<int32_t>(std::min<uint64_t>(
                      ParseUint(req.get_param_value("limit")).value_or(10), 50)));
                  return Json(projector_->FindCustomer(r));
                }));
    });
    http_.Get(R"(/api/v1/customers/([^/]+)/context)",
              [this](const httplib::Request& req, httplib::Response& res) {
                ReplyJson(res, Call(req, TL_GRPC_METHOD(JourneyService, GetCustomerContext), [&] {
                            return Json(projector_->GetCustomerContext(req.matches[1].str()));
                          }));
              });
    http_.Get(R"(/api/v1/customers/([^/]+)/timeline)", [this](const httplib::Request& req,
                                                              httplib::Response& res) {
      ReplyJson(res, Call(req, TL_GRPC_METHOD(JourneyService, GetTimeline), [&] {
                  v1::GetTimelineRequest r;
                  r.set_customer_id(req.matches[1].str());
                  r.set_page_size(static_cast<int32_t>(std::min<uint64_t>(
                      ParseUint(req.get_param_value("page_size")).value_or(0), kMaxPageSize)));
                  r.set_page_token(req.get_param_value("page_token"));
                  return Json(projector_->GetTimeline(r));
                }));
    });
    http_.Get("/api/v1/journey/stream",
              [this](const httplib::Request& req, httplib::Response& res) { Stream(req, res); });
    http_.Post("/api/v1/journey/streams/drop", [this](const httplib::Request& req,
                                                      httplib::Response& res) {
      auto who = Authenticate(req);
      if (!who.ok()) return ReplyError(res, who.status());
      if (who->role != server::Role::kAdmin) {
        return ReplyError(
            res, absl::PermissionDeniedError("role " + std::string(server::RoleName(who->role)) +
                                             " may not drop event streams; it needs admin"));
      }
      size_t n = DropStreams();
      Log().Info("event streams dropped", {{"by", who->name}, {"streams", n}});
      ReplyJson(res, "{\"dropped\":" + std::to_string(n) + "}");
    });
  }

  static void Static(const std::string& path, httplib::Response& res) {
    for (const auto& asset : web::Assets()) {
      if (asset.path != path) continue;
      // Only this origin's scripts, styles and connections: the page loads
      // nothing from elsewhere, so nothing injected can either.
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; base-uri 'none'; form-action 'self'; "
                     "frame-ancestors 'none'; object-src 'none'");
      // Revalidate so an upgraded server's page reaches open browsers.
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(asset.data), std::string(ContentType(path)));
      return;
    }
    res.status = 404;
  }

  template <typename M>
  static absl::StatusOr<std::string> Json(const absl::StatusOr<M>& m) {
    if (!m.ok()) return m.status();
    return ToJson(*m);
  }

  // The bearer token from the Authorization header or, for EventSource,
  // which cannot set headers, from ?access_token=.
  // More than one Authorization header is malformed (empty); none at all
  // is nullopt.
  static std::optional<std::string> Authorization(const httplib::Request& req) {
    size_t headers = req.get_header_value_count("Authorization");
    if (headers > 1) return std::string();
    if (headers == 1) return req.get_header_value("Authorization");
    if (req.has_param("access_token")) return "Bearer " + req.get_param_value("access_token");
    return std::nullopt;
  }
  absl::StatusOr<server::Principal> Authenticate(const httplib::Request& req) const {
    return auth_->AuthenticateHeader(Authorization(req));
  }

  absl::StatusOr<server::Principal> Authorize(const httplib::Request& req,
                                              std::string_view method) const {
    ASSIGN_OR_RETURN(auto who, Authenticate(req));
    if (!options_.allowed(who.role, method)) {
      return absl::PermissionDeniedError("role " + std::string(server::RoleName(who.role)) +
                                         " may not call " + std::string(method));
    }
    return who;
  }

  template <typename F>
  absl::StatusOr<std::string> Call(const httplib::Request& req, std::string_view method, F body) {
    RETURN_IF_ERROR(Authorize(req, method).status());
    return body();
  }

  void Stream(const httplib::Request& req, httplib::Response& res) {
    auto who = Authorize(req, TL_GRPC_METHOD(JourneyService, SubscribeJourney));
    if (!who.ok()) return ReplyError(res, who.status());

    auto sub = std::make_shared<v1::SubscribeJourneyRequest>();
    for (size_t i = 0; i < req.get_param_value_count("customer_id"); ++i) {
      sub->add_customer_ids(req.get_param_value("customer_id", i));
    }
    const uint64_t head = projector_->Stats().sequence;
    // The browser's Last-Event-ID wins: it is where this page left off.
    std::string token = req.get_header_value("Last-Event-ID");
    if (token.empty()) token = req.get_param_value("resume_token");
    if (token.empty()) {
      // Start from an explicit sequence rather than "from now", so the first
      // event's id is a resume point even before any update arrives.
      uint64_t backlog =
          std::min(ParseUint(req.get_param_value("backlog")).value_or(0), options_.max_backlog);
      token = std::to_string(head > backlog ? head - backlog : 0);
    }
    auto after = ParseUint(token);
    if (!after || *after > head) {
      // Checked here, while an HTTP status can still say so: EventSource
      // stops reconnecting on an error status instead of looping.
      return ReplyError(res, absl::InvalidArgumentError(
                                 "resume token '" + token +
                                 "' is not from this journey; reconnect without Last-Event-ID"));
    }
    sub->set_resume_token(token);

    // Held while the stream runs: a reload of the tokens file that revokes
    // the token, or takes the right away from its role, ends the stream.
    auto watch = std::make_shared<server::CredentialWatch>(
        *auth_, Authorization(req), *who,
        std::string(TL_GRPC_METHOD(JourneyService, SubscribeJourney)), options_.allowed);
    auto state = std::make_shared<StreamState>();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return ReplyError(res, absl::UnavailableError("server is stopping"));
      if (streams_.size() >= options_.max_streams) {
        return ReplyError(res, absl::UnavailableError("too many open event streams; retry later"));
      }
      streams_.insert(state.get());
    }
    res.set_header("Cache-Control", "no-store");
    // nginx and similar proxies buffer responses unless told not to.
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, sub, state, watch, name = who->name](size_t, httplib::DataSink& sink) {
          RunStream(*sub, *state, *watch, sink, name);
          sink.done();
          return true;
        },
        [this, state](bool) {
          std::lock_guard lock(mu_);
          streams_.erase(state.get());
        });
  }

  void RunStream(const v1::SubscribeJourneyRequest& sub, const StreamState& state,
                 server::CredentialWatch& watch, httplib::DataSink& sink, const std::string& who) {
    using SteadyClock = std::chrono::steady_clock;
    auto last_write = SteadyClock::now();
    bool writable = true;
    auto write = [&](const std::string& s) {
      if (writable && sink.write(s.data(), s.size())) {
        last_write = SteadyClock::now();
      } else {
        writable = false;
      }
      return writable;
    };
    // retry: how soon the browser reconnects. The first event says where
    // the stream starts, so a page that drops before any update resumes
    // exactly there.
    if (!write("retry: 1000\nid: " + sub.resume_token() +
               "\nevent: ready\ndata: {\"resumeToken\":" + JsonString(sub.resume_token()) +
               "}\n\n")) {
      return;
    }
    // Checked before every update and at every wake-up of the feed (every
    // 200 ms), so a revoked token's stream ends within a second.
    absl::Status revoked;
    auto still_authorised = [&] {
      revoked = watch.Check();
      return revoked.ok();
    };
    absl::Status status = projector_->Subscribe(
        sub,
        [&](const v1::JourneyUpdate& u) {
          return still_authorised() &&
                 write("id: " + u.resume_token() + "\nevent: update\ndata: " + ToJson(u) + "\n\n");
        },
        [&] {
          if (state.dropped || stopping_ || !writable || !sink.is_writable()) return true;
          if (!still_authorised()) return true;
          if (SteadyClock::now() - last_write >= options_.heartbeat) write(": heartbeat\n\n");
          return !writable;
        },
        options_.max_subscriber_lag);
    // The final event says why, so the page can stop instead of reconnecting
    // (its reconnect would be refused with 401 or 403 anyway).
    if (!revoked.ok()) status = revoked;
    if (writable && !status.ok() && status.code() != absl::StatusCode::kCancelled) {
      // Named "end", not "error": EventSource uses "error" for its own.
      write("event: end\ndata: {\"code\":" + JsonString(absl::StatusCodeToString(status.code())) +
            ",\"message\":" + JsonString(std::string(status.message())) + "}\n\n");
    }
    Log().Debug("event stream ended", {{"who", who}, {"status", status.ToString()}});
  }

  JourneyHttpOptions options_;
  Projector* projector_;
  const server::Authenticator* auth_;
  LimitedServer http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::set<StreamState*> streams_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<JourneyHttp>> JourneyHttp::Start(const JourneyHttpOptions& options,
                                                                Projector* projector,
                                                                const server::Authenticator* auth) {
  auto http = std::make_unique<JourneyHttpImpl>(options, projector, auth);
  RETURN_IF_ERROR(http->Init());
  return std::unique_ptr<JourneyHttp>(std::move(http));
}

}  // namespace threadline::journey
