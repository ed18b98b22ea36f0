// Server streams on the callback API against a real server on 127.0.0.1:
// the limits per principal and per server, a client that stops reading, and
// a client that vanishes without closing its connection.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "threadline/server/face.h"
#include "threadline/server/server.h"
#include "threadline/testing/tcp_proxy.h"
#include "threadline/testing/testing.h"
#include "threadline/v1/journey.grpc.pb.h"

namespace threadline::server {
namespace {

using ::testing::HasSubstr;
using ::threadline::testing::TcpProxy;
using ::threadline::testing::TempDir;
using ::threadline::testing::WaitFor;

constexpr char kWallToken[] = "wall-0123456789abcdef";
constexpr char kOpsToken[] = "ops-0123456789abcdef";

// SubscribeJourney with customer_ids[0] saying what the stream does:
// "idle" never sends anything, "firehose" sends 64 KiB updates for ever.
class FakeJourney {
 public:
  absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const v1::GetTimelineRequest&) {
    return v1::GetTimelineResponse();
  }
  absl::StatusOr<v1::CustomerContext> Context(const v1::GetCustomerContextRequest&) {
    return v1::CustomerContext();
  }
  absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const v1::FindCustomerRequest&) {
    return v1::FindCustomerResponse();
  }
  absl::StatusOr<std::unique_ptr<StreamSource<v1::JourneyUpdate>>> Subscribe(
      const v1::SubscribeJourneyRequest& r, StreamWake) {
    class Source final : public StreamSource<v1::JourneyUpdate> {
     public:
      explicit Source(bool firehose) : firehose_(firehose) {}
      absl::StatusOr<StreamStep> Next(v1::JourneyUpdate& u) override {
        if (!firehose_) return StreamStep::kWait;
        u.set_resume_token(std::string(64 * 1024, 'u'));
        return StreamStep::kMessage;
      }

     private:
      bool firehose_;
    };
    return std::make_unique<Source>(r.customer_ids_size() > 0 && r.customer_ids(0) == "firehose");
  }
};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_ = dir_.str() + "/tokens";
    std::ofstream(tokens_) << kWallToken << " wall dashboard\n" << kOpsToken << " ops admin\n";
    std::filesystem::permissions(
        tokens_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    face_ =
        MakeFace(&journey_, Query(TL_RPC(JourneyService, GetTimeline), &FakeJourney::GetTimeline),
                 Query(TL_RPC(JourneyService, GetCustomerContext), &FakeJourney::Context),
                 Query(TL_RPC(JourneyService, FindCustomer), &FakeJourney::FindCustomer),
                 Stream(TL_RPC(JourneyService, SubscribeJourney), &FakeJourney::Subscribe));
  }

  void StartServer(ServerOptions o) {
    o.listen = "127.0.0.1:0";
    o.tokens_file = tokens_;
    auto server = GrpcServer::Start(o, {face_.get()});
    ASSERT_OK(server);
    server_ = std::move(*server);
  }

  std::unique_ptr<v1::JourneyService::Stub> Stub(int port) {
    // Its own connection each, so a frozen proxy holds only its streams.
    grpc::ChannelArguments args;
    args.SetInt("threadline.test.channel", next_channel_++);
    return v1::JourneyService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
  }

  TempDir dir_;
  std::string tokens_;
  FakeJourney journey_;
  std::unique_ptr<Face> face_;
  std::unique_ptr<GrpcServer> server_;
  int next_channel_ = 0;
};

// One client-side stream; the server's answer to it is known once
// WaitForInitialMetadata returns (a refused stream is finished at once).
struct Subscriber {
  Subscriber(v1::JourneyService::Stub& stub, const std::string& token, const std::string& kind) {
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::SubscribeJourneyRequest r;
    r.add_customer_ids(kind);
    reader = stub.SubscribeJourney(&ctx, r);
    reader->WaitForInitialMetadata();
  }
  // The stream's status once the server ended it.
  grpc::Status Ended() {
    if (!finished) {
      v1::JourneyUpdate u;
      while (reader->Read(&u)) {
      }
      status = reader->Finish();
      finished = true;
    }
    return status;
  }
  ~Subscriber() {
    ctx.TryCancel();
    Ended();
  }
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::JourneyUpdate>> reader;
  bool finished = false;
  grpc::Status status;
};

TEST_F(StreamTest, StreamsOverALimitAreRefusedNamingTheLimitAndItsFlag) {
  ServerOptions o;
  o.max_streams_per_principal = 3;
  o.max_streams = 5;
  StartServer(o);
  auto stub = Stub(server_->port());

  std::vector<std::unique_ptr<Subscriber>> wall;
  for (int i = 0; i < 3; ++i)
    wall.push_back(std::make_unique<Subscriber>(*stub, kWallToken, "idle"));
  ASSERT_TRUE(WaitFor([&] { return server_->open_streams() == 3; }));
  {
    Subscriber fourth(*stub, kWallToken, "idle");
    grpc::Status s = fourth.Ended();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(s.error_message(), HasSubstr("principal 'wall' has 3 streams open"));
    EXPECT_THAT(s.error_message(), HasSubstr("--grpc-max-streams-per-principal"));
  }
  // Another principal is not held back by wall's streams, only by the
  // server's limit.
  std::vector<std::unique_ptr<Subscriber>> ops;
  for (int i = 0; i < 2; ++i) ops.push_back(std::make_unique<Subscriber>(*stub, kOpsToken, "idle"));
  ASSERT_TRUE(WaitFor([&] { return server_->open_streams() == 5; }));
  {
    Subscriber sixth(*stub, kOpsToken, "idle");
    grpc::Status s = sixth.Ended();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(s.error_message(), HasSubstr("this server has 5 streams open"));
    EXPECT_THAT(s.error_message(), HasSubstr("--grpc-max-streams "));
  }
  StreamCounts counts = server_->stats().Streams();
  EXPECT_EQ(counts.open, 5u);
  EXPECT_EQ(counts.refused_per_principal, 1u);
  EXPECT_EQ(counts.refused_server, 1u);

  // A client that cancels frees its slot at once.
  wall.pop_back();
  ASSERT_TRUE(WaitFor([&] { return server_->open_streams() == 4; }));
  Subscriber again(*stub, kWallToken, "idle");
  ASSERT_TRUE(WaitFor([&] { return server_->open_streams() == 5; }));
}

uint64_t Calls(const GrpcServer& server, grpc::StatusCode code) {
  for (const auto& m : server.stats().Snapshot()) {
    if (m.method == "/threadline.v1.JourneyService/SubscribeJourney") {
      return m.calls[static_cast<int>(code)];
    }
  }
  return 0;
}

// The client's transport takes what flow control lets through, and then
// the server's write waits: after the write timeout the stream ends.
TEST_F(StreamTest, AClientThatStopsReadingIsCutOffAfterTheWriteTimeout) {
  ServerOptions o;
  o.stream_write_timeout = std::chrono::milliseconds(300);
  StartServer(o);
  auto stub = Stub(server_->port());
  Subscriber never_reads(*stub, kWallToken, "firehose");
  ASSERT_EQ(server_->open_streams(), 1u);

  EXPECT_TRUE(WaitFor([&] { return server_->open_streams() == 0; }, std::chrono::seconds(10)));
  EXPECT_EQ(server_->stats().Streams().write_timeouts, 1u);
  EXPECT_TRUE(WaitFor([&] { return Calls(*server_, grpc::StatusCode::DEADLINE_EXCEEDED) == 1; }));
}

// A connection that takes no byte at all (its peer's machine is gone, or it
// keeps its TCP window shut): the write waits in the socket, and the stream
// still loses its slot after the write timeout.
TEST_F(StreamTest, AStuckConnectionLosesItsStreamsAfterTheWriteTimeout) {
  ServerOptions o;
  o.stream_write_timeout = std::chrono::milliseconds(300);
  o.max_streams_per_principal = 1;
  StartServer(o);
  TcpProxy proxy(server_->port());
  auto stub = Stub(proxy.port());
  Subscriber stuck(*stub, kWallToken, "firehose");
  v1::JourneyUpdate first;
  ASSERT_TRUE(stuck.reader->Read(&first));
  ASSERT_EQ(server_->open_streams(), 1u);

  proxy.Freeze();
  EXPECT_TRUE(WaitFor([&] { return server_->open_streams() == 0; }, std::chrono::seconds(10)));
  EXPECT_EQ(server_->stats().Streams().write_timeouts, 1u);
  auto direct = Stub(server_->port());
  Subscriber next(*direct, kWallToken, "idle");
  EXPECT_TRUE(WaitFor([&] { return server_->open_streams() == 1; }));
}

TEST_F(StreamTest, AClientThatVanishedIsReapedByKeepalive) {
  ServerOptions o;
  o.max_streams_per_principal = 1;
  o.keepalive_time = std::chrono::milliseconds(200);
  o.keepalive_timeout = std::chrono::milliseconds(300);
  StartServer(o);
  TcpProxy proxy(server_->port());
  auto through_proxy = Stub(proxy.port());
  Subscriber gone(*through_proxy, kWallToken, "idle");
  ASSERT_TRUE(WaitFor([&] { return server_->open_streams() == 1; }));

  // Nothing is due on an idle stream, so only the unanswered pings tell
  // the server that this client is gone.
  proxy.Freeze();
  EXPECT_TRUE(WaitFor([&] { return server_->open_streams() == 0; }, std::chrono::seconds(10)));
  // Its slot is free for the principal's next stream.
  auto direct = Stub(server_->port());
  Subscriber next(*direct, kWallToken, "idle");
  EXPECT_TRUE(WaitFor([&] { return server_->open_streams() == 1; }));
}

}  // namespace
}  // namespace threadline::server
