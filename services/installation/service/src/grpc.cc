#include "threadline/command/grpc.h"

#include "threadline/installation/service.h"

namespace threadline::installation {
namespace {

class InstallationGrpc final : public v1::InstallationService::Service {
 public:
  explicit InstallationGrpc(InstallationService* service) : s_(service) {}

  grpc::Status ProposeAppointment(grpc::ServerContext* ctx, const v1::ProposeAppointmentRequest* r,
                                  v1::ProposeAppointmentResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(InstallationService, ProposeAppointment), out,
        [&](const command::Invocation& inv) { return s_->ProposeAppointment(inv, *r); });
  }
  grpc::Status ConfirmAppointment(grpc::ServerContext* ctx, const v1::ConfirmAppointmentRequest* r,
                                  v1::ConfirmAppointmentResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(InstallationService, ConfirmAppointment), out,
        [&](const command::Invocation& inv) { return s_->ConfirmAppointment(inv, *r); });
  }
  grpc::Status DeclineAppointment(grpc::ServerContext* ctx, const v1::DeclineAppointmentRequest* r,
                                  v1::DeclineAppointmentResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(InstallationService, DeclineAppointment), out,
        [&](const command::Invocation& inv) { return s_->DeclineAppointment(inv, *r); });
  }
  grpc::Status AssignTechnician(grpc::ServerContext* ctx, const v1::AssignTechnicianRequest* r,
                                v1::AssignTechnicianResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(InstallationService, AssignTechnician), out,
        [&](const command::Invocation& inv) { return s_->AssignTechnician(inv, *r); });
  }
  grpc::Status CompleteInstallation(grpc::ServerContext* ctx,
                                    const v1::CompleteInstallationRequest* r,
                                    v1::CompleteInstallationResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(InstallationService, CompleteInstallation), out,
        [&](const command::Invocation& inv) { return s_->CompleteInstallation(inv, *r); });
  }
  grpc::Status GetWorkOrder(grpc::ServerContext* ctx, const v1::GetWorkOrderRequest* r,
                            v1::WorkOrder* out) override {
    return server::Handle(ctx, TL_GRPC_METHOD(InstallationService, GetWorkOrder),
                          [&](const server::Principal&) -> absl::Status {
                            ASSIGN_OR_RETURN(*out, s_->GetWorkOrder(*r));
                            return absl::OkStatus();
                          });
  }
  grpc::Status ListWorkOrders(grpc::ServerContext* ctx, const v1::ListWorkOrdersRequest* r,
                              v1::ListWorkOrdersResponse* out) override {
    return server::Handle(ctx, TL_GRPC_METHOD(InstallationService, ListWorkOrders),
                          [&](const server::Principal&) -> absl::Status {
                            ASSIGN_OR_RETURN(*out, s_->ListWorkOrders(*r));
                            return absl::OkStatus();
                          });
  }

 private:
  InstallationService* s_;
};

class InstallationDepartment final : public command::Department {
 public:
  explicit InstallationDepartment(const command::DepartmentDeps& deps)
      : env_{deps.store, deps.clock, "installation", v1::DEPARTMENT_INSTALLATION},
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

std::unique_ptr<grpc::Service> NewInstallationGrpc(InstallationService* service) {
  return std::make_unique<InstallationGrpc>(service);
}

std::unique_ptr<command::Department> NewInstallationDepartment(
    const command::DepartmentDeps& deps) {
  return std::make_unique<InstallationDepartment>(deps);
}

}  // namespace threadline::installation
