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
      // No thread per stream: the server pulls each update from the
      // subscription when the client has taken the previous one, and ends
      // the stream when the token is revoked (see server::Stream).
      Stream(
          TL_RPC(JourneyService, SubscribeJourney),
          [options](Projector& p, const v1::SubscribeJourneyRequest& r, server::StreamWake wake) {
            return p.OpenSubscription(r, options.max_subscriber_lag, std::move(wake));
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
