#include "threadline/command/grpc.h"

#include "threadline/installation/service.h"

namespace threadline::installation {

// Each RPC of InstallationService and the member of InstallationService that serves it.
// Who may call them: the service's rule in libs/server/src/policy.cc.
std::unique_ptr<grpc::Service> NewInstallationGrpc(InstallationService* service) {
  using command::Command;
  using server::Query;
  return server::MakeFace(
      service,
      Command(TL_RPC(InstallationService, ProposeAppointment),
              &InstallationService::ProposeAppointment),
      Command(TL_RPC(InstallationService, ConfirmAppointment),
              &InstallationService::ConfirmAppointment),
      Command(TL_RPC(InstallationService, DeclineAppointment),
              &InstallationService::DeclineAppointment),
      Command(TL_RPC(InstallationService, AssignTechnician),
              &InstallationService::AssignTechnician),
      Command(TL_RPC(InstallationService, CompleteInstallation),
              &InstallationService::CompleteInstallation),
      Query(TL_RPC(InstallationService, GetWorkOrder), &InstallationService::GetWorkOrder),
      Query(TL_RPC(InstallationService, ListWorkOrders), &InstallationService::ListWorkOrders));
}

namespace {

class InstallationDepartment final : public command::Department {
 public:
  explicit InstallationDepartment(const command::DepartmentDeps& deps)
      : env_{deps.store, deps.clock, "installation", v1::DEPARTMENT_INSTALLATION, deps.keys},
        service_(env_),
        grpc_(NewInstallationGrpc(&service_)),
        reactor_(env_, deps.bus, SalesReactorOptions(), NewSalesReaction(env_, &counters_)) {}
  ~InstallationDepartment() override { Stop(); }

  grpc::Service* grpc() override { return grpc_.get(); }
  absl::Status Start() override { return reactor_.Start(); }
  void Stop() override { reactor_.Stop(); }
  bool CaughtUp() const override { return reactor_.CaughtUp(); }

 private:
  command::Env env_;
  InstallationService service_;
  std::unique_ptr<grpc::Service> grpc_;
  ReactionCounters counters_;  // before reactor_, which borrows it
  command::Reactor reactor_;
};

}  // namespace

std::unique_ptr<command::Department> NewInstallationDepartment(
    const command::DepartmentDeps& deps) {
  return std::make_unique<InstallationDepartment>(deps);
}

}  // namespace threadline::installation
