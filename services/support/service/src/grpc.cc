#include "threadline/command/grpc.h"

#include "threadline/support/service.h"

namespace threadline::support {
namespace {

class SupportGrpc final : public v1::SupportService::Service {
 public:
  explicit SupportGrpc(SupportService* service) : s_(service) {}

  grpc::Status OpenTicket(grpc::ServerContext* ctx, const v1::OpenTicketRequest* r,
                          v1::OpenTicketResponse* out) override {
    return command::Serve(ctx, TL_GRPC_METHOD(SupportService, OpenTicket), out,
                          [&](const command::Invocation& inv) { return s_->OpenTicket(inv, *r); });
  }
  grpc::Status RecordMissedCall(grpc::ServerContext* ctx, const v1::RecordMissedCallRequest* r,
                                v1::RecordMissedCallResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, RecordMissedCall), out,
        [&](const command::Invocation& inv) { return s_->RecordMissedCall(inv, *r); });
  }
  grpc::Status AddInteraction(grpc::ServerContext* ctx, const v1::AddInteractionRequest* r,
                              v1::AddInteractionResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, AddInteraction), out,
        [&](const command::Invocation& inv) { return s_->AddInteraction(inv, *r); });
  }
  grpc::Status AssignTicket(grpc::ServerContext* ctx, const v1::AssignTicketRequest* r,
                            v1::AssignTicketResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, AssignTicket), out,
        [&](const command::Invocation& inv) { return s_->AssignTicket(inv, *r); });
  }
  grpc::Status EscalateTicket(grpc::ServerContext* ctx, const v1::EscalateTicketRequest* r,
                              v1::EscalateTicketResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, EscalateTicket), out,
        [&](const command::Invocation& inv) { return s_->EscalateTicket(inv, *r); });
  }
  grpc::Status ResolveTicket(grpc::ServerContext* ctx, const v1::ResolveTicketRequest* r,
                             v1::ResolveTicketResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, ResolveTicket), out,
        [&](const command::Invocation& inv) { return s_->ResolveTicket(inv, *r); });
  }
  grpc::Status ReopenTicket(grpc::ServerContext* ctx, const v1::ReopenTicketRequest* r,
                            v1::ReopenTicketResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, ReopenTicket), out,
        [&](const command::Invocation& inv) { return s_->ReopenTicket(inv, *r); });
  }
  grpc::Status ScheduleCallback(grpc::ServerContext* ctx, const v1::ScheduleCallbackRequest* r,
                                v1::ScheduleCallbackResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, ScheduleCallback), out,
        [&](const command::Invocation& inv) { return s_->ScheduleCallback(inv, *r); });
  }
  grpc::Status CompleteCallback(grpc::ServerContext* ctx, const v1::CompleteCallbackRequest* r,
                                v1::CompleteCallbackResponse* out) override {
    return command::Serve(
        ctx, TL_GRPC_METHOD(SupportService, CompleteCallback), out,
        [&](const command::Invocation& inv) { return s_->CompleteCallback(inv, *r); });
  }
  grpc::Status GetTicket(grpc::ServerContext* ctx, const v1::GetTicketRequest* r,
                         v1::Ticket* out) override {
    return server::Handle(ctx, TL_GRPC_METHOD(SupportService, GetTicket),
                          [&](const server::Principal&) -> absl::Status {
                            ASSIGN_OR_RETURN(*out, s_->GetTicket(*r));
                            return absl::OkStatus();
                          });
  }

 private:
  SupportService* s_;
};

command::ReactorOptions DirectoryReactorOptions() {
  command::ReactorOptions o;
  o.consumer = kDirectoryConsumer;
  o.topics = {"threadline.sales.v1"};
  return o;
}

class SupportDepartment final : public command::Department {
 public:
  explicit SupportDepartment(const command::DepartmentDeps& deps)
      : env_{deps.store, deps.clock, "support", v1::DEPARTMENT_SUPPORT},
        service_(env_),
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

std::unique_ptr<grpc::Service> NewSupportGrpc(SupportService* service) {
  return std::make_unique<SupportGrpc>(service);
}

std::unique_ptr<command::Department> NewSupportDepartment(const command::DepartmentDeps& deps) {
  return std::make_unique<SupportDepartment>(deps);
}

}  // namespace threadline::support
