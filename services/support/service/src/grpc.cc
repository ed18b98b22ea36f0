#include "threadline/command/grpc.h"

#include "threadline/domain/topics.h"
#include "threadline/support/service.h"

namespace threadline::support {

// Each RPC of SupportService and the member of SupportService that serves it.
// Who may call them: the service's rule in libs/server/src/policy.cc.
std::unique_ptr<grpc::Service> NewSupportGrpc(SupportService* service) {
  using command::Command;
  using server::Query;
  return server::MakeFace(
      service, Command(TL_RPC(SupportService, OpenTicket), &SupportService::OpenTicket),
      Command(TL_RPC(SupportService, RecordMissedCall), &SupportService::RecordMissedCall),
      Command(TL_RPC(SupportService, AddInteraction), &SupportService::AddInteraction),
      Command(TL_RPC(SupportService, AssignTicket), &SupportService::AssignTicket),
      Command(TL_RPC(SupportService, EscalateTicket), &SupportService::EscalateTicket),
      Command(TL_RPC(SupportService, ResolveTicket), &SupportService::ResolveTicket),
      Command(TL_RPC(SupportService, ReopenTicket), &SupportService::ReopenTicket),
      Command(TL_RPC(SupportService, ScheduleCallback), &SupportService::ScheduleCallback),
      Command(TL_RPC(SupportService, CompleteCallback), &SupportService::CompleteCallback),
      Query(TL_RPC(SupportService, GetTicket), &SupportService::GetTicket),
      Command(TL_RPC(SupportService, SetTicketWaiting), &SupportService::SetTicketWaiting),
      Command(TL_RPC(SupportService, ResumeTicket), &SupportService::ResumeTicket));
}

namespace {

command::ReactorOptions DirectoryReactorOptions() {
  command::ReactorOptions o;
  o.consumer = kDirectoryConsumer;
  o.topics = {domain::kSalesTopic};
  return o;
}

class SupportDepartment final : public command::Department {
 public:
  explicit SupportDepartment(const command::DepartmentDeps& deps)
      : env_{deps.store, deps.clock, "support", v1::DEPARTMENT_SUPPORT, deps.keys},
        service_(env_, deps.policy),
        grpc_(NewSupportGrpc(&service_)),
        reactor_(env_, deps.bus, DirectoryReactorOptions(), NewDirectoryReaction(env_)),
        timer_(env_) {}
  ~SupportDepartment() override { Stop(); }

  grpc::Service* grpc() override { return grpc_.get(); }
  absl::Status Start() override {
    RETURN_IF_ERROR(reactor_.Start());
    return timer_.Start();
  }
  void Stop() override {
    timer_.Stop();
    reactor_.Stop();
  }
  bool CaughtUp() const override { return reactor_.CaughtUp(); }

 private:
  command::Env env_;
  SupportService service_;
  std::unique_ptr<grpc::Service> grpc_;
  command::Reactor reactor_;
  SlaTimer timer_;
};

}  // namespace

std::unique_ptr<command::Department> NewSupportDepartment(const command::DepartmentDeps& deps) {
  return std::make_unique<SupportDepartment>(deps);
}

}  // namespace threadline::support
