#include "threadline/command/grpc.h"

#include "threadline/sales/service.h"

namespace threadline::sales {

// Each RPC of SalesService and the member of SalesService that serves it.
// Who may call them: the service's rule in libs/server/src/policy.cc.
std::unique_ptr<grpc::Service> NewSalesGrpc(SalesService* service) {
  using command::Command;
  return server::MakeFace(
      service, Command(TL_RPC(SalesService, RegisterCustomer), &SalesService::RegisterCustomer),
      Command(TL_RPC(SalesService, PlaceOrder), &SalesService::PlaceOrder),
      Command(TL_RPC(SalesService, CancelOrder), &SalesService::CancelOrder),
      Command(TL_RPC(SalesService, SwitchProduct), &SalesService::SwitchProduct),
      Command(TL_RPC(SalesService, LogContact), &SalesService::LogContact));
}

namespace {

class SalesDepartment final : public command::Department {
 public:
  explicit SalesDepartment(const command::DepartmentDeps& deps)
      : service_(command::Env{deps.store, deps.clock, "sales", v1::DEPARTMENT_SALES, deps.keys}),
        grpc_(NewSalesGrpc(&service_)) {}
  grpc::Service* grpc() override { return grpc_.get(); }

 private:
  SalesService service_;
  std::unique_ptr<grpc::Service> grpc_;
};

}  // namespace

std::unique_ptr<command::Department> NewSalesDepartment(const command::DepartmentDeps& deps) {
  return std::make_unique<SalesDepartment>(deps);
}

}  // namespace threadline::sales
