#include "threadline/command/grpc.h"

#include "threadline/billing/service.h"

namespace threadline::billing {
namespace {

class BillingGrpc final : public v1::BillingService::Service {
 public:
  explicit BillingGrpc(BillingService* service) : s_(service) {}

  grpc::Status IssueInvoice(grpc::ServerContext* ctx, const v1::IssueInvoiceRequest* r,
                            v1::IssueInvoiceResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(BillingService, IssueInvoice), out,
        [&](const command::Invocation& inv) { return s_->IssueInvoice(inv, *r); });
  }
  grpc::Status RecordPayment(grpc::ServerContext* ctx, const v1::RecordPaymentRequest* r,
                             v1::RecordPaymentResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(BillingService, RecordPayment), out,
        [&](const command::Invocation& inv) { return s_->RecordPayment(inv, *r); });
  }
  grpc::Status GrantCredit(grpc::ServerContext* ctx, const v1::GrantCreditRequest* r,
                           v1::GrantCreditResponse* out) override {
    return command::Serve(ctx, TL_GRPC_METHOD(BillingService, GrantCredit), out,
                          [&](const command::Invocation& inv) { return s_->GrantCredit(inv, *r); });
  }
  grpc::Status ApproveCredit(grpc::ServerContext* ctx, const v1::ApproveCreditRequest* r,
                             v1::ApproveCreditResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(BillingService, ApproveCredit), out,
        [&](const command::Invocation& inv) { return s_->ApproveCredit(inv, *r); });
  }
  grpc::Status DisputeCharge(grpc::ServerContext* ctx, const v1::DisputeChargeRequest* r,
                             v1::DisputeChargeResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(BillingService, DisputeCharge), out,
        [&](const command::Invocation& inv) { return s_->DisputeCharge(inv, *r); });
  }
  grpc::Status ResolveDispute(grpc::ServerContext* ctx, const v1::ResolveDisputeRequest* r,
                              v1::ResolveDisputeResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(BillingService, ResolveDispute), out,
        [&](const command::Invocation& inv) { return s_->ResolveDispute(inv, *r); });
  }
  grpc::Status GetAccount(grpc::ServerContext* ctx, const v1::GetAccountRequest* r,
                          v1::Account* out) override {
    return server::Handle(ctx, TL_GRPC_METHOD(BillingService, GetAccount),
                          [&](const server::Principal&) -> absl::Status {
                            ASSIGN_OR_RETURN(*out, s_->GetAccount(*r));
                            return absl::OkStatus();
                          });
  }

 private:
  BillingService* s_;
};

class BillingDepartment final : public command::Department {
 public:
  explicit BillingDepartment(const command::DepartmentDeps& deps)
      : env_{deps.store, deps.clock, "billing", v1::DEPARTMENT_BILLING},
        service_(env_),
        grpc_(NewBillingGrpc(&service_)),
        sales_(env_, deps.bus, SalesReactorOptions(), NewSalesReaction(env_, &counters_)),
        installation_(env_, deps.bus, InstallationReactorOptions(),
                      NewInstallationReaction(env_, &counters_)) {}
  ~BillingDepartment() override { Stop(); }

  grpc::Service* grpc() override { return grpc_.get(); }
  absl::Status Start() override {
    RETURN_IF_ERROR(sales_.Start());
    return installation_.Start();
  }
  void Stop() override {
    installation_.Stop();
    sales_.Stop();
  }
  bool CaughtUp() const override { return sales_.CaughtUp() && installation_.CaughtUp(); }

 private:
  command::Env env_;
  BillingService service_;
  std::unique_ptr<grpc::Service> grpc_;
  ReactionCounters counters_;  // before the reactors, which borrow it
  command::Reactor sales_;
  command::Reactor installation_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewBillingGrpc(BillingService* service) {
  return std::make_unique<BillingGrpc>(service);
}

std::unique_ptr<command::Department> NewBillingDepartment(const command::DepartmentDeps& deps) {
  return std::make_unique<BillingDepartment>(deps);
}

}  // namespace threadline::billing
