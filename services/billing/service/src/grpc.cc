#include "threadline/command/grpc.h"

#include "threadline/billing/service.h"

namespace threadline::billing {

// Each RPC of BillingService and the member of BillingService that serves it.
// Who may call them: the service's rule in libs/server/src/policy.cc.
std::unique_ptr<grpc::Service> NewBillingGrpc(BillingService* service) {
  using command::Command;
  using server::Query;
  return server::MakeFace(
      service, Command(TL_RPC(BillingService, IssueInvoice), &BillingService::IssueInvoice),
      Command(TL_RPC(BillingService, RecordPayment), &BillingService::RecordPayment),
      Command(TL_RPC(BillingService, GrantCredit), &BillingService::GrantCredit),
      Command(TL_RPC(BillingService, ApproveCredit), &BillingService::ApproveCredit),
      Command(TL_RPC(BillingService, DisputeCharge), &BillingService::DisputeCharge),
      Command(TL_RPC(BillingService, ResolveDispute), &BillingService::ResolveDispute),
      Query(TL_RPC(BillingService, GetAccount), &BillingService::GetAccount));
}

namespace {

class BillingDepartment final : public command::Department {
 public:
  explicit BillingDepartment(const command::DepartmentDeps& deps)
      : env_{deps.store, deps.clock, "billing", v1::DEPARTMENT_BILLING, deps.keys},
        service_(env_, deps.policy),
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

std::unique_ptr<command::Department> NewBillingDepartment(const command::DepartmentDeps& deps) {
  return std::make_unique<BillingDepartment>(deps);
}

}  // namespace threadline::billing
