#include "threadline/server/face.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <vector>

#include "threadline/server/server.h"
#include "threadline/testing/testing.h"
#include "threadline/v1/journey.grpc.pb.h"

namespace threadline::server {
namespace {

using ::testing::HasSubstr;

constexpr char kDashboardToken[] = "dash-0123456789abcdef";

// Answers from the request alone, so each test sees which handler ran and
// with what.
class FakeJourney {
 public:
  absl::StatusOr<v1::GetTimelineResponse> GetTimeline(const v1::GetTimelineRequest& r) {
    if (r.customer_id() == "throw") throw std::runtime_error("boom");
    v1::GetTimelineResponse out;
    out.set_next_page_token("timeline of " + r.customer_id());
    return out;
  }
  absl::StatusOr<v1::CustomerContext> Context(const std::string& customer_id) {
    if (customer_id == "missing") return absl::NotFoundError("no customer 'missing'");
    v1::CustomerContext out;
    out.set_customer_id(customer_id);
    return out;
  }
  absl::StatusOr<v1::FindCustomerResponse> FindCustomer(const v1::FindCustomerRequest& r) {
    return v1::FindCustomerResponse();
  }
  // As many updates as the request names customers, each naming one.
  absl::StatusOr<std::unique_ptr<StreamSource<v1::JourneyUpdate>>> Subscribe(
      const v1::SubscribeJourneyRequest& r, StreamWake) {
    class Customers final : public StreamSource<v1::JourneyUpdate> {
     public:
      explicit Customers(const v1::SubscribeJourneyRequest& r)
          : ids_(r.customer_ids().begin(), r.customer_ids().end()) {}
      absl::StatusOr<StreamStep> Next(v1::JourneyUpdate& u) override {
        if (next_ == ids_.size()) return StreamStep::kEnd;
        u.set_resume_token(ids_[next_++]);
        return StreamStep::kMessage;
      }

     private:
      std::vector<std::string> ids_;
      size_t next_ = 0;
    };
    return std::make_unique<Customers>(r);
  }
};

std::unique_ptr<Face> CompleteFace(FakeJourney* journey) {
  return MakeFace(journey, Query(TL_RPC(JourneyService, GetTimeline), &FakeJourney::GetTimeline),
                  Query(TL_RPC(JourneyService, GetCustomerContext),
                        [](FakeJourney& j, const v1::GetCustomerContextRequest& r) {
                          return j.Context(r.customer_id());
                        }),
                  Query(TL_RPC(JourneyService, FindCustomer), &FakeJourney::FindCustomer),
                  Stream(TL_RPC(JourneyService, SubscribeJourney), &FakeJourney::Subscribe));
}

std::unique_ptr<v1::JourneyService::Stub> Connect(const GrpcServer& server) {
  return v1::JourneyService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.port()), grpc::InsecureChannelCredentials()));
}

void WithDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

TEST(FaceTest, NamesItsServiceAndIsCompleteWithEveryRpc) {
  FakeJourney journey;
  auto face = CompleteFace(&journey);
  EXPECT_EQ(face->service_name(), "threadline.v1.JourneyService");
  EXPECT_OK(face->CheckComplete());
}

TEST(FaceTest, ServerRefusesAFaceThatLeavesRpcsOut) {
  FakeJourney journey;
  auto face =
      MakeFace(&journey, Query(TL_RPC(JourneyService, GetTimeline), &FakeJourney::GetTimeline),
               Query(TL_RPC(JourneyService, GetTimeline), &FakeJourney::GetTimeline));
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server = GrpcServer::Start(options, {face.get()});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("has no handler for GetCustomerContext, FindCustomer, SubscribeJourney"));
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("lists GetTimeline twice"));
}

TEST(FaceTest, ServesUnaryAndStreamingRpcsThroughTheHandler) {
  FakeJourney journey;
  auto face = CompleteFace(&journey);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  auto server = GrpcServer::Start(options, {face.get()});
  ASSERT_OK(server);
  auto stub = Connect(**server);

  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetTimelineRequest r;
    r.set_customer_id("cus_1");
    v1::GetTimelineResponse out;
    ASSERT_TRUE(stub->GetTimeline(&ctx, r, &out).ok());
    EXPECT_EQ(out.next_page_token(), "timeline of cus_1");
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetCustomerContextRequest r;
    r.set_customer_id("missing");
    v1::CustomerContext out;
    grpc::Status s = stub->GetCustomerContext(&ctx, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message(), "no customer 'missing'");
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetTimelineRequest r;
    r.set_customer_id("throw");
    v1::GetTimelineResponse out;
    grpc::Status s = stub->GetTimeline(&ctx, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_THAT(s.error_message(), HasSubstr("/threadline.v1.JourneyService/GetTimeline"));
  }
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::SubscribeJourneyRequest r;
    r.add_customer_ids("cus_1");
    r.add_customer_ids("cus_2");
    auto reader = stub->SubscribeJourney(&ctx, r);
    std::vector<std::string> got;
    v1::JourneyUpdate u;
    while (reader->Read(&u)) got.push_back(u.resume_token());
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(got, (std::vector<std::string>{"cus_1", "cus_2"}));
  }
  // Every call was counted under its full name, with its status code.
  std::map<std::string, MethodStats> stats;
  for (auto& m : (*server)->stats().Snapshot()) stats[m.method] = m;
  EXPECT_EQ(stats["/threadline.v1.JourneyService/GetTimeline"].total_calls(), 2u);
  EXPECT_EQ(stats["/threadline.v1.JourneyService/GetCustomerContext"]
                .calls[static_cast<int>(grpc::StatusCode::NOT_FOUND)],
            1u);
  EXPECT_EQ(stats["/threadline.v1.JourneyService/SubscribeJourney"].calls[0], 1u);
}

TEST(FaceTest, CallsWithoutATokenNeverReachTheHandler) {
  threadline::testing::TempDir dir;
  const std::string tokens = dir.str() + "/tokens";
  {
    std::ofstream out(tokens);
    out << kDashboardToken << " wall dashboard\n";
  }
  std::filesystem::permissions(
      tokens, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  FakeJourney journey;
  auto face = CompleteFace(&journey);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tokens_file = tokens;
  auto server = GrpcServer::Start(options, {face.get()});
  ASSERT_OK(server);
  auto stub = Connect(**server);

  v1::GetTimelineRequest r;
  r.set_customer_id("throw");  // would be INTERNAL if the handler ran
  v1::GetTimelineResponse out;
  grpc::ClientContext anonymous;
  WithDeadline(anonymous);
  EXPECT_EQ(stub->GetTimeline(&anonymous, r, &out).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  r.set_customer_id("cus_1");
  grpc::ClientContext dashboard;
  WithDeadline(dashboard);
  dashboard.AddMetadata("authorization", std::string("Bearer ") + kDashboardToken);
  EXPECT_TRUE(stub->GetTimeline(&dashboard, r, &out).ok());
  EXPECT_EQ(out.next_page_token(), "timeline of cus_1");
}

}  // namespace
}  // namespace threadline::server
