#include "threadline/command/grpc.h"

#include "threadline/privacy_service/service.h"

namespace threadline::privacy {

// Who may call them: the service's rule in libs/server/src/policy.cc.
std::unique_ptr<grpc::Service> NewPrivacyGrpc(PrivacyService* service) {
  using command::Command;
  return server::MakeFace(
      service, Command(TL_RPC(PrivacyService, EraseCustomer), &PrivacyService::EraseCustomer),
      Command(TL_RPC(PrivacyService, ExportCustomerData), &PrivacyService::ExportCustomerData));
}

}  // namespace threadline::privacy
