// The journey over HTTP against a real projector on the embedded bus:
// tokens and roles as for gRPC, the embedded page, the JSON API and the
// event stream (ids, Last-Event-ID resume, heartbeats, drops).

#include "threadline/journey/http.h"

#include <grpcpp/create_channel.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "threadline/bus/embedded.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/topics.h"
#include "threadline/journey/service.h"
#include "threadline/outbox/relay.h"
#include "threadline/privacy/sealer.h"
#include "threadline/privacy/vault.h"
#include "threadline/server/server.h"
#include "threadline/testing/testing.h"
#include "threadline/v1/journey.grpc.pb.h"

namespace threadline::journey {
namespace {

using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

constexpr char kCustomer[] = "cus_0190bbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr char kAdminToken[] = "admin-token-0123456789";
constexpr char kDashboardToken[] = "dashboard-token-0123456789";
constexpr char kSalesToken[] = "sales-token-0123456789";

class JourneyHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus::EmbeddedBusOptions bo;
    bo.path = (dir_.path() / "bus").string();
    bus_ = std::move(*bus::OpenEmbeddedBus(bo));
    std::vector<bus::TopicSpec> topics;
    for (const auto& t : domain::DepartmentTopics()) topics.push_back({t, 2});
    topics.push_back({domain::kPrivacyTopic, 2});
    topics.push_back({domain::kJourneyTopic, 2});
    topics.push_back({domain::kDeadLetterTopic, 2});
    ASSERT_OK(bus_->EnsureTopics(topics));
    publisher_ = std::move(*bus_->NewPublisher());
    ProjectorOptions po;
    po.path = (dir_.path() / "journey").string();
    po.poll_wait = std::chrono::milliseconds(20);
    po.keys = Keys();
    projector_ = std::move(*Projector::Open(po, bus_.get()));
    ASSERT_OK(projector_->Start());

    WriteTokens(std::string(kAdminToken) + " ops admin\n" + kDashboardToken + " wall dashboard\n" +
                kSalesToken + " sam sales\n");
    auth_ = std::move(*server::Authenticator::FromFile(tokens_path()));
  }
  // The projector's key source: none here (nothing sealed).
  virtual privacy::KeySource* Keys() { return nullptr; }
  std::string tokens_path() const { return (dir_.path() / "tokens").string(); }
  void WriteTokens(const std::string& content) {
    std::ofstream(tokens_path(), std::ios::trunc) << content;
    std::filesystem::permissions(
        tokens_path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  void TearDown() override {
    if (http_) http_->Stop();
    projector_->Stop();
  }

  void StartHttp(JourneyHttpOptions o = {}, const server::Authenticator* auth = nullptr) {
    o.listen = "127.0.0.1:0";
    auto http = JourneyHttp::Start(o, projector_.get(), auth != nullptr ? auth : auth_.get());
    ASSERT_OK(http);
    http_ = std::move(*http);
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", http_->port());
    c.set_read_timeout(std::chrono::seconds(10));
    return c;
  }
  static httplib::Headers Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  void Contact(const std::string& id, int seconds) {
    v1::EventEnvelope e;
    e.set_event_id(id);
    e.set_customer_id(kCustomer);
    e.set_department(v1::DEPARTMENT_SALES);
    e.set_channel(v1::CHANNEL_PHONE);
    e.set_schema_version(1);
    *e.mutable_occurred_at() =
        domain::ToProto(FromUnixMicros(1'760'000'000'000'000) + std::chrono::seconds(seconds));
    *e.mutable_recorded_at() = e.occurred_at();
    if (seconds == 0) {
      auto* p = e.mutable_customer_registered();
      p->set_customer_id(kCustomer);
      p->set_name("Anna de Vries");
      p->add_phone_numbers("+31612345678");
    } else {
      e.mutable_contact_logged()->set_outcome(id);
    }
    if (Keys() != nullptr) {  // as the department stores and publishes it
      auto key = Keys()->Obtain(kCustomer);
      ASSERT_OK(key);
      privacy::SealEvent(e, *key);
    }
    ASSERT_OK(publisher_->Publish(outbox::ToMessage(e, domain::DepartmentTopic(e.department())),
                                  nullptr));
  }
  bool Projected(uint64_t n) {
    return WaitFor([&] { return projector_->Stats().sequence >= n; });
  }

  // Reads the event stream at `path` until `done(text so far)` or a 10 s
  // read timeout; returns the text and the response status.
  std::pair<int, std::string> ReadStream(const std::string& path, httplib::Headers headers,
                                         const std::function<bool(const std::string&)>& done) {
    auto c = Client();
    std::string text;
    int status = 0;
    c.Get(
        path, headers,
        [&](const httplib::Response& r) {
          status = r.status;
          return true;
        },
        [&](const char* data, size_t n) {
          text.append(data, n);
          return !done(text);
        });
    return {status, text};
  }

  TempDir dir_;
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<Projector> projector_;
  std::unique_ptr<server::Authenticator> auth_;
  std::unique_ptr<JourneyHttp> http_;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST_F(JourneyHttpTest, ServesTheEmbeddedPageWithoutAToken) {
  StartHttp();
  auto c = Client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("<script type=\"module\" src=\"/app.js\">"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  auto js = c.Get("/stream.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_NE(js->get_header_value("Content-Type").find("text/javascript"), std::string::npos);
  EXPECT_EQ(c.Get("/nothing-here.js")->status, 404);
}

TEST_F(JourneyHttpTest, RefusesMissingAndUnknownTokens) {
  StartHttp();
  auto c = Client();
  for (const char* path : {"/api/v1/journey/stream", "/api/v1/customers?q=anna",
                           "/api/v1/customers/x/context", "/api/v1/customers/x/timeline"}) {
    auto none = c.Get(path);
    ASSERT_TRUE(none) << path;
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"threadline\"");
    EXPECT_NE(none->body.find("\"code\":\"UNAUTHENTICATED\""), std::string::npos) << none->body;
    EXPECT_EQ(c.Get(path, Bearer("not-a-token-of-this-server"))->status, 401) << path;
    EXPECT_EQ(c.Get(std::string(path) + (std::string(path).find('?') == std::string::npos
                                             ? "?access_token=wrong-token-0123456789"
                                             : "&access_token=wrong-token-0123456789"))
                  ->status,
              401)
        << path;
  }
}

TEST_F(JourneyHttpTest, EveryRoleReadsTheJourneyAsOverGrpc) {
  StartHttp();
  Contact("evt-1", 0);
  ASSERT_TRUE(Projected(1));
  auto c = Client();
  for (const char* token : {kAdminToken, kDashboardToken, kSalesToken}) {
    auto r = c.Get("/api/v1/customers?q=%2B31%206%201234%205678", Bearer(token));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << token;
    EXPECT_NE(r->body.find(kCustomer), std::string::npos) << r->body;
  }
  // The token as a query parameter, for EventSource.
  auto card = c.Get(std::string("/api/v1/customers/") + kCustomer +
                    "/context?access_token=" + kDashboardToken);
  ASSERT_TRUE(card);
  EXPECT_EQ(card->status, 200);
  EXPECT_NE(card->body.find("\"name\":\"Anna de Vries\""), std::string::npos) << card->body;
  auto timeline =
      c.Get(std::string("/api/v1/customers/") + kCustomer + "/timeline", Bearer(kDashboardToken));
  ASSERT_TRUE(timeline);
  EXPECT_EQ(timeline->status, 200);
  EXPECT_NE(timeline->body.find("\"eventId\":\"evt-1\""), std::string::npos) << timeline->body;
  auto missing = c.Get("/api/v1/customers/cus_0190cccccccccccccccccccccccccccc/context",
                       Bearer(kDashboardToken));
  EXPECT_EQ(missing->status, 404) << missing->body;
}

// The real policy lets every role read the journey, so a 403 needs a policy
// that denies one: the same code path a future narrower policy would take.
TEST_F(JourneyHttpTest, ARoleThePolicyDeniesGets403) {
  JourneyHttpOptions o;
  o.allowed = [](server::Role role, std::string_view method) {
    return role != server::Role::kSales && server::Allowed(role, method);
  };
  StartHttp(o);
  auto c = Client();
  auto stream = c.Get(std::string("/api/v1/journey/stream?access_token=") + kSalesToken);
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->status, 403);
  EXPECT_NE(stream->body.find("role sales may not call "
                              "/threadline.v1.JourneyService/SubscribeJourney"),
            std::string::npos)
      << stream->body;
  EXPECT_EQ(c.Get("/api/v1/customers?q=anna", Bearer(kSalesToken))->status, 403);
  // Dropping streams is for admins only, whatever the journey policy.
  EXPECT_EQ(
      c.Post("/api/v1/journey/streams/drop", Bearer(kDashboardToken), "", "text/plain")->status,
      403);
  EXPECT_EQ(c.Post("/api/v1/journey/streams/drop", Bearer(kAdminToken), "", "text/plain")->status,
            200);
}

// The same projector with a key vault: the events arrive sealed and the
// projector keeps them sealed; every endpoint answers in the clear.
class JourneyHttpSealedTest : public JourneyHttpTest {
 protected:
  void SetUp() override {
    privacy::VaultOptions vo;
    vo.path = (dir_.path() / "vault").string();
    vo.master = privacy::RandomKey();
    auto v = privacy::Vault::Open(vo);
    ASSERT_OK(v);
    vault_ = std::move(*v);
    JourneyHttpTest::SetUp();
  }
  privacy::KeySource* Keys() override { return vault_.get(); }
  std::unique_ptr<privacy::Vault> vault_;
};

TEST_F(JourneyHttpSealedTest, SealedEventsReadInTheClearOverJsonAndTheStream) {
  StartHttp();
  Contact("evt-1", 0);
  Contact("evt-2", 1);
  ASSERT_TRUE(Projected(2));
  auto c = Client();
  auto found = c.Get("/api/v1/customers?q=anna%20de", Bearer(kDashboardToken));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->status, 200);
  EXPECT_NE(found->body.find("\"name\":\"Anna de Vries\""), std::string::npos) << found->body;
  auto card =
      c.Get(std::string("/api/v1/customers/") + kCustomer + "/context", Bearer(kDashboardToken));
  ASSERT_TRUE(card);
  EXPECT_NE(card->body.find("\"name\":\"Anna de Vries\""), std::string::npos) << card->body;
  EXPECT_NE(card->body.find("+31612345678"), std::string::npos) << card->body;
  auto timeline =
      c.Get(std::string("/api/v1/customers/") + kCustomer + "/timeline", Bearer(kDashboardToken));
  ASSERT_TRUE(timeline);
  EXPECT_NE(timeline->body.find("Customer Anna de Vries registered"), std::string::npos)
      << timeline->body;
  auto [status, text] =
      ReadStream("/api/v1/journey/stream?resume_token=0", Bearer(kDashboardToken),
                 [](const std::string& t) { return Count(t, "event: update") >= 2; });
  EXPECT_EQ(status, 200);
  EXPECT_NE(text.find("Customer Anna de Vries registered"), std::string::npos) << text;
  EXPECT_NE(text.find("by unspecified: evt-2"), std::string::npos) << text;
  for (const auto& body : {found->body, card->body, timeline->body, text}) {
    EXPECT_EQ(body.find(privacy::kSealedPrefix), std::string::npos) << body;
  }
}

TEST_F(JourneyHttpTest, StreamCarriesIdsAndResumesFromLastEventId) {
  StartHttp();
  Contact("evt-1", 0);
  Contact("evt-2", 1);
  ASSERT_TRUE(Projected(2));
  auto [status, first] =
      ReadStream("/api/v1/journey/stream?resume_token=0", Bearer(kDashboardToken),
                 [](const std::string& t) { return Count(t, "event: update") >= 2; });
  EXPECT_EQ(status, 200);
  EXPECT_NE(first.find("retry: 1000\nid: 0\nevent: ready\n"), std::string::npos) << first;
  EXPECT_NE(first.find("id: 1\nevent: update\ndata: {"), std::string::npos) << first;
  EXPECT_NE(first.find("id: 2\nevent: update\n"), std::string::npos) << first;
  EXPECT_NE(first.find("\"eventId\":\"evt-2\""), std::string::npos);

  // A browser reconnecting sends the last id it saw; only later updates come.
  Contact("evt-3", 2);
  auto headers = Bearer(kDashboardToken);
  headers.emplace("Last-Event-ID", "2");
  auto [status2, resumed] =
      ReadStream("/api/v1/journey/stream?resume_token=0", headers,
                 [](const std::string& t) { return t.find("event: update") != std::string::npos; });
  EXPECT_EQ(status2, 200);
  EXPECT_EQ(Count(resumed, "event: update"), 1u) << resumed;
  EXPECT_NE(resumed.find("\"eventId\":\"evt-3\""), std::string::npos) << resumed;
  EXPECT_EQ(resumed.find("evt-2"), std::string::npos) << resumed;

  // A token from another journey is refused with a status, not a dead stream.
  auto c = Client();
  auto future = c.Get("/api/v1/journey/stream?resume_token=999", Bearer(kDashboardToken));
  EXPECT_EQ(future->status, 400);
}

TEST_F(JourneyHttpTest, IdleStreamsGetHeartbeatsAndDropEndsThem) {
  JourneyHttpOptions o;
  o.heartbeat = std::chrono::milliseconds(50);
  StartHttp(o);
  std::atomic<bool> ended{false};
  std::atomic<size_t> heartbeats{0};
  std::string text;
  std::thread reader([&] {
    text = ReadStream("/api/v1/journey/stream", Bearer(kDashboardToken), [&](const std::string& t) {
             heartbeats = Count(t, ": heartbeat\n\n");
             return false;  // only the server ends this stream
           }).second;
    ended = true;
  });
  ASSERT_TRUE(WaitFor([&] { return heartbeats.load() >= 2; }));
  EXPECT_EQ(http_->DropStreams(), 1u);
  ASSERT_TRUE(WaitFor([&] { return ended.load(); }));
  reader.join();
  EXPECT_NE(text.find("event: ready"), std::string::npos) << text;
  EXPECT_EQ(http_->DropStreams(), 0u);
}

// An event stream read on its own thread until the server ends it or `enough`
// says so.
class EventStream {
 public:
  EventStream(int port, const std::string& token,
              std::function<bool(const std::string&)> enough = nullptr)
      : thread_([this, port, token, enough = std::move(enough)] {
          httplib::Client c("127.0.0.1", port);
          c.set_read_timeout(std::chrono::seconds(10));
          c.Get("/api/v1/journey/stream?resume_token=0", {{"Authorization", "Bearer " + token}},
                [&](const char* data, size_t n) {
                  std::lock_guard lock(mu_);
                  text_.append(data, n);
                  return !stop_ && !(enough && enough(text_));
                });
          ended_ = true;
        }) {}
  // Heartbeats keep the stream busy, so the reader notices soon.
  ~EventStream() {
    stop_ = true;
    thread_.join();
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  size_t updates() const { return Count(text(), "event: update"); }
  bool ended() const { return ended_; }

 private:
  mutable std::mutex mu_;
  std::string text_;
  std::atomic<bool> ended_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A SubscribeJourney call read on its own thread until it ends.
class GrpcStream {
 public:
  GrpcStream(v1::JourneyService::Stub& stub, const std::string& token) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    v1::SubscribeJourneyRequest r;
    r.set_resume_token("0");
    reader_ = stub.SubscribeJourney(&ctx_, r);
    thread_ = std::thread([this] {
      v1::JourneyUpdate u;
      while (reader_->Read(&u)) ++updates_;
      status_ = reader_->Finish();
      ended_ = true;
    });
  }
  ~GrpcStream() {
    ctx_.TryCancel();
    thread_.join();
  }
  size_t updates() const { return updates_; }
  bool ended() const { return ended_; }
  // Once ended().
  const grpc::Status& status() const { return status_; }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::JourneyUpdate>> reader_;
  std::atomic<size_t> updates_{0};
  std::atomic<bool> ended_{false};
  grpc::Status status_;
  std::thread thread_;
};

// Revocation: removing a token from the tokens file and reloading it, as
// SIGHUP does, ends the streams opened with it over gRPC (UNAUTHENTICATED)
// and SSE (a final "end" event, then the stream closes) within 5 s, refuses
// its next calls, and leaves the streams of other tokens running.
TEST_F(JourneyHttpTest, ReloadWithoutATokenEndsItsGrpcAndEventStreams) {
  server::ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.tokens_file = tokens_path();
  auto face = NewJourneyGrpc(projector_.get());
  auto grpc_server = server::GrpcServer::Start(so, {face.get()});
  ASSERT_OK(grpc_server);
  JourneyHttpOptions ho;
  ho.heartbeat = std::chrono::milliseconds(100);
  StartHttp(ho, &(*grpc_server)->auth());
  auto stub = v1::JourneyService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*grpc_server)->port()), grpc::InsecureChannelCredentials()));

  Contact("evt-1", 0);
  ASSERT_TRUE(Projected(1));
  {
    GrpcStream grpc_wall(*stub, kDashboardToken), grpc_ops(*stub, kAdminToken);
    EventStream sse_wall(http_->port(), kDashboardToken);
    EventStream sse_ops(http_->port(), kAdminToken,
                        [](const std::string& t) { return Count(t, "event: update") >= 2; });
    ASSERT_TRUE(WaitFor([&] {
      return grpc_wall.updates() == 1 && grpc_ops.updates() == 1 && sse_wall.updates() == 1 &&
             sse_ops.updates() == 1;
    }));

    WriteTokens(std::string(kAdminToken) + " ops admin\n" + kSalesToken + " sam sales\n");
    (*grpc_server)->ReloadTokens();
    ASSERT_EQ((*grpc_server)->auth().token_count(), 2u);
    EXPECT_TRUE(
        WaitFor([&] { return grpc_wall.ended() && sse_wall.ended(); }, std::chrono::seconds(5)));
    ASSERT_TRUE(WaitFor([&] { return grpc_wall.ended() && sse_wall.ended(); }));
    EXPECT_EQ(grpc_wall.status().error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << grpc_wall.status().error_message();
    EXPECT_NE(grpc_wall.status().error_message().find("revoked"), std::string::npos)
        << grpc_wall.status().error_message();
    const std::string wall_text = sse_wall.text();
    EXPECT_NE(wall_text.find("event: end\ndata: {\"code\":\"UNAUTHENTICATED\""), std::string::npos)
        << wall_text;

    // The revoked token's next calls are refused, on both faces.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", std::string("Bearer ") + kDashboardToken);
    v1::GetCustomerContextRequest r;
    r.set_customer_id(kCustomer);
    v1::CustomerContext card;
    EXPECT_EQ(stub->GetCustomerContext(&ctx, r, &card).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    auto c = Client();
    auto res =
        c.Get(std::string("/api/v1/customers/") + kCustomer + "/context", Bearer(kDashboardToken));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);

    // The other token's streams were never interrupted: they get the next
    // update.
    Contact("evt-2", 1);
    EXPECT_TRUE(WaitFor([&] { return grpc_ops.updates() == 2 && sse_ops.updates() == 2; }));
    EXPECT_FALSE(grpc_ops.ended());
    EXPECT_EQ(grpc_wall.updates(), 1u);
    EXPECT_EQ(sse_wall.updates(), 1u);
  }
  // The HTTP face borrows the server's tokens: it stops first.
  http_->Stop();
  http_.reset();
}

// A role that may no longer subscribe after a reload ends the event stream
// with PERMISSION_DENIED. (The real policy lets every role subscribe; the
// test narrows it.)
TEST_F(JourneyHttpTest, ReloadThatTakesTheRightAwayEndsTheEventStream) {
  JourneyHttpOptions o;
  o.heartbeat = std::chrono::milliseconds(100);
  o.allowed = [](server::Role role, std::string_view) { return role != server::Role::kSales; };
  StartHttp(o);
  std::string text;
  {
    EventStream stream(http_->port(), kDashboardToken);
    ASSERT_TRUE(WaitFor([&] { return stream.text().find("event: ready") != std::string::npos; }));
    WriteTokens(std::string(kDashboardToken) + " wall sales\n");
    ASSERT_OK(auth_->Reload());
    EXPECT_TRUE(WaitFor([&] { return stream.ended(); }, std::chrono::seconds(5)));
    text = stream.text();
  }
  EXPECT_NE(text.find("event: end\ndata: {\"code\":\"PERMISSION_DENIED\""), std::string::npos)
      << text;
}

}  // namespace
}  // namespace threadline::journey
