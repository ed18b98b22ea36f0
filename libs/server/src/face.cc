#include "threadline/server/face.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>

namespace threadline::server {

void Face::Register(const char* name, grpc::internal::RpcMethod::RpcType type,
                    grpc::internal::RpcServiceMethod::ApiType api,
                    grpc::internal::MethodHandler* handler) {
  // "/threadline.v1.BillingService/GetAccount" -> "threadline.v1.BillingService"
  std::string_view full(name);
  if (service_.empty() && full.size() > 1) {
    service_ = std::string(full.substr(1, full.find('/', 1) - 1));
  }
  listed_.emplace_back(name);
  auto* method = new grpc::internal::RpcServiceMethod(name, type, handler);
  method->SetServerApiType(api);
  AddMethod(method);
}

absl::Status Face::CheckComplete() const {
  if (service_.empty()) return absl::FailedPreconditionError("a gRPC face with no RPCs");
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_);
  if (service == nullptr) {
    return absl::FailedPreconditionError("the gRPC face of " + service_ +
                                         " names a service missing from the descriptor pool");
  }
  std::string missing, repeated;
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string name = "/" + service_ + "/" + service->method(i)->name();
    auto n = std::count(listed_.begin(), listed_.end(), name);
    std::string& list = n == 0 ? missing : repeated;
    if (n == 1) continue;
    if (!list.empty()) list += ", ";
    list += service->method(i)->name();
  }
  if (missing.empty() && repeated.empty() &&
      listed_.size() == static_cast<size_t>(service->method_count())) {
    return absl::OkStatus();
  }
  std::string message = "the gRPC face of " + service_;
  if (!missing.empty()) message += " has no handler for " + missing;
  if (!repeated.empty())
    message += (missing.empty() ? " lists " : "; it lists ") + repeated + " twice";
  if (missing.empty() && repeated.empty()) message += " lists an RPC of another service";
  return absl::FailedPreconditionError(message + "; fix the service's table");
}

}  // namespace threadline::server
