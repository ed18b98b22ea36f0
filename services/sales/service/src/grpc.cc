#include "threadline/command/grpc.h"
#include "threadline/sales/service.h"

namespace threadline::sales {
namespace {


class SalesGrpc final : public v1::SalesService::Service {
 public:
  explicit SalesGrpc(SalesService* service) : s_(service) {}

  grpc::Status RegisterCustomer(grpc::ServerContext* ctx, const v1::RegisterCustomerRequest* r,
                                v1::RegisterCustomerResponse* out) override {
    return command::Serve(ctx, TL_GRPC_METHOD(SalesService, RegisterCustomer), out,
                          [&](const command::Invocation& inv) { return s_->RegisterCustomer(inv, *r); });
  }
  grpc::Status PlaceOrder(grpc::ServerContext* ctx, const v1::PlaceOrderRequest* r,
                          v1::PlaceOrderResponse* out) override {
    return command::Serve(ctx, TL_GRPC_METHOD(SalesService, PlaceOrder), out,
                          [&](const command::Invocation& inv) { return s_->PlaceOrder(inv, *r); });
  }
  grpc::Status CancelOrder(grpc::ServerContext* ctx, const v1::CancelOrderRequest* r,
                           v1::CancelOrderResponse* out) override {
    return command::Serve(ctx, TL_GRPC_METHOD(SalesService, CancelOrder), out,
                          [&](const command::Invocation& inv) { return s_->CancelOrder(inv, *r); });
  }
  grpc::Status SwitchProduct(grpc::ServerContext* ctx, const v1::SwitchProductRequest* r,
                             v1::SwitchProductResponse* out) override {
    return command::Serve(ctx, TL_GRPC_METHOD(SalesService, SwitchProduct), out,
                          [&](const command::Invocation& inv) { return s_->SwitchProduct(inv, *r); });
  }
  grpc::Status LogContact(grpc::ServerContext* ctx, const v1::LogContactRequest* r,
                          v1::LogContactResponse* out) override {
    return command::Serve(ctx, TL_GRPC_METHOD(SalesService, LogContact), out,
                          [&](const command::Invocation& inv) { return s_->LogContact(inv, *r); });
  }

 private:
  SalesService* s_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewSalesGrpc(SalesService* service) {
  return std::make_unique<SalesGrpc>(service);
}

namespace {
class SalesDepartment final : public command::Department {
 public:
  explicit SalesDepartment(const command::DepartmentDeps& deps)
      : service_(command::Env{deps.store, deps.clock, "sales", v1::DEPARTMENT_SALES}),
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
