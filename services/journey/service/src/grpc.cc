#include "threadline/journey/service.h"
#include "threadline/server/handler.h"

namespace threadline::journey {
namespace {


class JourneyGrpc final : public v1::JourneyService::Service {
 public:
  JourneyGrpc(Projector* p, JourneyGrpcOptions o) : p_(p), options_(o) {}

  grpc::Status GetTimeline(grpc::ServerContext* ctx, const v1::GetTimelineRequest* r,
                           v1::GetTimelineResponse* out) override {
    return server::Handle(ctx, TL_GRPC_METHOD(JourneyService, GetTimeline), [&](const server::Principal&) {
      auto result = p_->GetTimeline(*r);
      if (result.ok()) *out = std::move(*result);
      return result.status();
    });
  }
  grpc::Status GetCustomerContext(grpc::ServerContext* ctx,
                                  const v1::GetCustomerContextRequest* r,
                                  v1::CustomerContext* out) override {
    return server::Handle(ctx, TL_GRPC_METHOD(JourneyService, GetCustomerContext),
                          [&](const server::Principal&) {
                            auto result = p_->GetCustomerContext(r->customer_id());
                            if (result.ok()) *out = std::move(*result);
                            return result.status();
                          });
  }
  grpc::Status FindCustomer(grpc::ServerContext* ctx, const v1::FindCustomerRequest* r,
                            v1::FindCustomerResponse* out) override {
    return server::Handle(ctx, TL_GRPC_METHOD(JourneyService, FindCustomer), [&](const server::Principal&) {
      auto result = p_->FindCustomer(*r);
      if (result.ok()) *out = std::move(*result);
      return result.status();
    });
  }
  grpc::Status SubscribeJourney(grpc::ServerContext* ctx, const v1::SubscribeJourneyRequest* r,
                                grpc::ServerWriter<v1::JourneyUpdate>* writer) override {
    return server::Handle(ctx, TL_GRPC_METHOD(JourneyService, SubscribeJourney),
                          [&](const server::Principal&) {
                            // Headers go out at once so a client knows it is subscribed.
                            writer->SendInitialMetadata();
                            return p_->Subscribe(
                                *r, [&](const v1::JourneyUpdate& u) { return writer->Write(u); },
                                [&] { return ctx->IsCancelled(); }, options_.max_subscriber_lag);
                          });
  }

 private:
  Projector* p_;
  JourneyGrpcOptions options_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewJourneyGrpc(Projector* projector, JourneyGrpcOptions options) {
  return std::make_unique<JourneyGrpc>(projector, options);
}

}  // namespace threadline::journey
