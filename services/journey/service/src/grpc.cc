#include "threadline/journey/service.h"
#include "threadline/server/face.h"

namespace threadline::journey {

// Each RPC of JourneyService and the projector call that serves it. Who may
// call them: the service's rule in libs/server/src/policy.cc.
std::unique_ptr<grpc::Service> NewJourneyGrpc(Projector* projector, JourneyGrpcOptions options) {
  using server::Query;
  using server::Stream;
  return server::MakeFace(
      projector,  // serves every RPC below
      Query(TL_RPC(JourneyService, GetTimeline), &Projector::GetTimeline),
      Query(TL_RPC(JourneyService, GetCustomerContext),
            [](Projector& p, const v1::GetCustomerContextRequest& r) {
              return p.GetCustomerContext(r.customer_id());
            }),
      Query(TL_RPC(JourneyService, FindCustomer), &Projector::FindCustomer),
      Stream(
          TL_RPC(JourneyService, SubscribeJourney),
          [options](Projector& p, grpc::ServerContext& ctx, const v1::SubscribeJourneyRequest& r,
                    grpc::ServerWriter<v1::JourneyUpdate>& writer, server::CredentialWatch& watch) {
            // Headers go out at once so a client knows it is subscribed.
            writer.SendInitialMetadata();
            // A revoked token ends the stream with the check's status,
            // at the next update or wake-up of the feed (every 200 ms).
            absl::Status revoked;
            auto still_authorised = [&] {
              revoked = watch.Check();
              return revoked.ok();
            };
            absl::Status status = p.Subscribe(
                r,
                [&](const v1::JourneyUpdate& u) { return still_authorised() && writer.Write(u); },
                [&] { return ctx.IsCancelled() || !still_authorised(); },
                options.max_subscriber_lag);
            return revoked.ok() ? status : revoked;
          }));
}

std::unique_ptr<grpc::Service> NewJourneyExportGrpc(Projector* projector) {
  return server::MakeFace(projector,
                          server::Query(TL_RPC(JourneyExportService, ExportCustomer),
                                        [](Projector& p, const v1::ExportCustomerRequest& r) {
                                          return p.ExportCustomer(r.customer_id());
                                        }));
}

}  // namespace threadline::journey
