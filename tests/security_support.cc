#include "security_support.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <grpcpp/impl/codegen/sync_stream.h>
#include <sys/stat.h>

#include <csignal>
#include <fstream>

#include "threadline/eventstore/event_store.h"
#include "threadline/v1/keys.pb.h"
#include "threadline/v1/privacy.pb.h"

namespace threadline::testing {
namespace {

namespace pb = google::protobuf;

std::unique_ptr<grpc::ClientContext> Context(const std::string& token,
                                             std::chrono::milliseconds deadline) {
  return Ctx(token, deadline);
}

}  // namespace

void WriteTokensFile(const std::filesystem::path& path,
                     const std::vector<std::pair<std::string, std::string>>& token_roles) {
  std::ofstream out(path);
  int n = 0;
  for (const auto& [token, role] : token_roles) {
    out << token << " principal-" << n++ << "-" << role << " " << role << "\n";
  }
  out.close();
  // The server warns about group- or world-readable token files.
  ::chmod(path.c_str(), 0600);
}

const pb::MethodDescriptor* FindMethod(const std::string& method) {
  // "/threadline.v1.SalesService/RegisterCustomer"
  auto slash = method.rfind('/');
  if (method.empty() || method[0] != '/' || slash == 0 || slash == std::string::npos) {
    return nullptr;
  }
  const auto* service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(method.substr(1, slash - 1));
  return service ? service->FindMethodByName(method.substr(slash + 1)) : nullptr;
}

std::vector<std::string> AllThreadlineMethods() {
  std::vector<std::string> out;
  // Touching one message per file links the generated descriptors in.
  v1::RegisterCustomerRequest::descriptor();
  v1::ProposeAppointmentRequest::descriptor();
  v1::OpenTicketRequest::descriptor();
  v1::IssueInvoiceRequest::descriptor();
  v1::GetTimelineRequest::descriptor();
  v1::EraseCustomerRequest::descriptor();
  v1::GetDataKeyRequest::descriptor();
  for (const char* name :
       {"SalesService", "InstallationService", "SupportService", "BillingService", "JourneyService",
        "JourneyExportService", "PrivacyService", "KeyService"}) {
    const auto* service = pb::DescriptorPool::generated_pool()->FindServiceByName(
        std::string("threadline.v1.") + name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      out.push_back("/" + service->full_name() + "/" + service->method(i)->name());
    }
  }
  return out;
}

grpc::Status CallMethod(grpc::Channel* channel, const std::string& method,
                        const pb::Message& request, const std::string& token,
                        std::chrono::milliseconds deadline) {
  const auto* md = FindMethod(method);
  if (md == nullptr) return grpc::Status(grpc::StatusCode::UNKNOWN, "test: no method " + method);
  const pb::Message* prototype =
      pb::MessageFactory::generated_factory()->GetPrototype(md->output_type());
  std::unique_ptr<pb::Message> response(prototype->New());
  auto ctx = Context(token, deadline);
  if (md->server_streaming()) {
    grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING);
    std::unique_ptr<grpc::ClientReader<pb::Message>> reader(
        grpc::internal::ClientReaderFactory<pb::Message>::Create(channel, rpc, ctx.get(), request));
    // A stream that is accepted sends its headers at once and then waits for
    // updates: one read (or the deadline) tells acceptance from refusal.
    if (reader->Read(response.get())) ctx->TryCancel();
    return reader->Finish();
  }
  grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  return grpc::internal::BlockingUnaryCall<pb::Message, pb::Message>(channel, rpc, ctx.get(),
                                                                     request, response.get());
}

grpc::Status CallRaw(grpc::Channel* channel, const std::string& method, const std::string& bytes,
                     const std::string& token, std::chrono::milliseconds deadline) {
  const auto* md = FindMethod(method);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto ctx = Context(token, deadline);
  if (md != nullptr && md->server_streaming()) {
    grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING);
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel, rpc, ctx.get(),
                                                                      request));
    if (reader->Read(&response)) ctx->TryCancel();
    return reader->Finish();
  }
  grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel, rpc, ctx.get(), request, &response);
}

std::map<std::string, uint64_t> StoreChecksums(const std::filesystem::path& data_dir) {
  std::map<std::string, uint64_t> out;
  for (const char* dept : {"sales", "installation", "support", "billing"}) {
    eventstore::Options o;
    o.path = (data_dir / dept).string();
    auto store = eventstore::EventStore::Open(o);
    if (!store.ok()) {
      ADD_FAILURE() << "cannot open the " << dept << " store: " << store.status();
      continue;
    }
    auto sum = (*store)->Checksum();
    if (!sum.ok()) {
      ADD_FAILURE() << "cannot checksum the " << dept << " store: " << sum.status();
      continue;
    }
    out[dept] = *sum;
  }
  return out;
}

void StopSuite(SuiteProcess& suite) {
  suite.Kill(SIGTERM);
  int status = suite.process()->Wait(std::chrono::seconds(30));
  ASSERT_EQ(status, 0) << "threadline did not stop cleanly on SIGTERM; log:\n" << suite.Log();
}

}  // namespace threadline::testing
