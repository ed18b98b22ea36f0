#pragma once

#include <memory>

#include "threadline/journey/projector.h"
#include "threadline/v1/journey.grpc.pb.h"

namespace threadline::journey {

struct JourneyGrpcOptions {
  // A subscriber more than this many updates behind is cut off with
  // RESOURCE_EXHAUSTED (it resumes from its last token). Default: 10000.
  uint64_t max_subscriber_lag = 10000;
};

// The gRPC face of the projector's queries and subscriptions.
std::unique_ptr<grpc::Service> NewJourneyGrpc(Projector* projector,
                                              JourneyGrpcOptions options = {});

// JourneyExportService: a customer's data as the journey holds it
// (Projector::ExportCustomer), for data-protection requests. Its own service
// so that the policy can give it to fewer roles than JourneyService.
std::unique_ptr<grpc::Service> NewJourneyExportGrpc(Projector* projector);

}  // namespace threadline::journey
