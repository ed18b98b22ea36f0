// The journey over HTTP against a real projector on the embedded bus:
// tokens and roles as for gRPC, the embedded page, the JSON API and the
// event stream (ids, Last-Event-ID resume, heartbeats, drops).

#include "threadline/journey/http.h"

#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "threadline/bus/embedded.h"
#include "threadline/domain/domain.h"
#include "threadline/domain/topics.h"
#include "threadline/outbox/relay.h"
#include "threadline/testing/testing.h"

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
    topics.push_back({domain::kJourneyTopic, 2});
    topics.push_back({domain::kDeadLetterTopic, 2});
    ASSERT_OK(bus_->EnsureTopics(topics));
    publisher_ = std::move(*bus_->NewPublisher());
    ProjectorOptions po;
    po.path = (dir_.path() / "journey").string();
    po.poll_wait = std::chrono::milliseconds(20);
    projector_ = std::move(*Projector::Open(po, bus_.get()));
    ASSERT_OK(projector_->Start());

    std::string tokens = (dir_.path() / "tokens").string();
    std::ofstream(tokens) << kAdminToken << " ops admin\n"
                          << kDashboardToken << " wall dashboard\n"
                          << kSalesToken << " sam sales\n";
    std::filesystem::permissions(
        tokens, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auth_ = std::move(*server::Authenticator::FromFile(tokens));
  }
  void TearDown() override {
    if (http_) http_->Stop();
    projector_->Stop();
  }

  void StartHttp(JourneyHttpOptions o = {}) {
    o.listen = "127.0.0.1:0";
    auto http = JourneyHttp::Start(o, projector_.get(), auth_.get());
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

}  // namespace
}  // namespace threadline::journey
