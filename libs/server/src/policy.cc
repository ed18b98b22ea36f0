// The authorisation policy. Rules are per service; the methods come from the
// services' descriptors, so an RPC added to a .proto is covered by its
// service's rule the moment it is compiled, and the matrix test (which lists
// every method by hand) fails until someone looks at it.

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "threadline/common/log.h"
#include "threadline/server/auth.h"
#include "threadline/v1/billing.grpc.pb.h"
#include "threadline/v1/installation.grpc.pb.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/keys.grpc.pb.h"
#include "threadline/v1/privacy.grpc.pb.h"
#include "threadline/v1/sales.grpc.pb.h"
#include "threadline/v1/support.grpc.pb.h"

namespace threadline::server {
namespace {

using RoleMask = uint32_t;

constexpr RoleMask Bit(Role r) { return RoleMask{1} << static_cast<unsigned>(r); }

template <typename... R>
constexpr RoleMask Roles(R... r) {
  return (Bit(r) | ... | 0);
}

// Every role a person works in (the service role is for machines).
constexpr RoleMask kEveryRole =
    Roles(Role::kSales, Role::kInstallation, Role::kSupport, Role::kBilling, Role::kSupervisor,
          Role::kDashboard, Role::kPrivacy, Role::kAdmin);

struct ServiceRule {
  std::string_view service;  // full name, e.g. "threadline.v1.SalesService"
  // Any message of the service's file: calling descriptor() links the
  // generated file into the binary and registers it in the generated pool.
  const google::protobuf::Descriptor* (*anchor)();
  RoleMask roles;
};

// The whole policy. Each department calls its own service (commands and its
// own queries); supervisors work support and billing (they approve credits
// above an agent's limit); everyone who works with customers, and the
// dashboards, read the journey; only the privacy role (a data-protection
// officer) and admin export or erase a customer's data; the processes of a
// deployment (the service role) fetch data keys from the vault and the
// privacy service fetches the journey's export; admin calls everything.
const std::vector<ServiceRule>& Rules() {
  static const auto* rules = new std::vector<ServiceRule>{
      {v1::SalesService::service_full_name(), &v1::RegisterCustomerRequest::descriptor,
       Roles(Role::kSales, Role::kAdmin)},
      {v1::InstallationService::service_full_name(), &v1::ProposeAppointmentRequest::descriptor,
       Roles(Role::kInstallation, Role::kAdmin)},
      {v1::SupportService::service_full_name(), &v1::OpenTicketRequest::descriptor,
       Roles(Role::kSupport, Role::kSupervisor, Role::kAdmin)},
      {v1::BillingService::service_full_name(), &v1::IssueInvoiceRequest::descriptor,
       Roles(Role::kBilling, Role::kSupervisor, Role::kAdmin)},
      {v1::JourneyService::service_full_name(), &v1::GetTimelineRequest::descriptor, kEveryRole},
      {v1::JourneyExportService::service_full_name(), &v1::ExportCustomerRequest::descriptor,
       Roles(Role::kPrivacy, Role::kService, Role::kAdmin)},
      {v1::PrivacyService::service_full_name(), &v1::EraseCustomerRequest::descriptor,
       Roles(Role::kPrivacy, Role::kAdmin)},
      {v1::KeyService::service_full_name(), &v1::GetDataKeyRequest::descriptor,
       Roles(Role::kService, Role::kAdmin)},
  };
  return *rules;
}

struct Policy {
  std::vector<std::pair<std::string, RoleMask>> ordered;
  std::map<std::string, RoleMask, std::less<>> by_method;
};

const Policy& ThePolicy() {
  static const Policy* policy = [] {
    auto* p = new Policy;
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    for (const auto& rule : Rules()) {
      rule.anchor();
      const auto* service = pool->FindServiceByName(std::string(rule.service));
      if (service == nullptr) {
        // Cannot happen with the anchor above; if it did, the service's
        // methods stay out of the table and are denied.
        Logger("server").Error("service missing from the descriptor pool; its calls are denied",
                               {{"service", rule.service}});
        continue;
      }
      for (int i = 0; i < service->method_count(); ++i) {
        std::string name = "/" + service->full_name() + "/" + service->method(i)->name();
        p->ordered.emplace_back(name, rule.roles);
        p->by_method.emplace(std::move(name), rule.roles);
      }
    }
    return p;
  }();
  return *policy;
}

}  // namespace

std::vector<std::string> AllMethods() {
  std::vector<std::string> out;
  for (const auto& [method, roles] : ThePolicy().ordered) out.push_back(method);
  return out;
}

bool IsOpenMethod(std::string_view method) {
  for (std::string_view prefix :
       {"/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
        "/grpc.reflection.v1.ServerReflection/"}) {
    if (method.size() > prefix.size() && method.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

bool Allowed(Role role, std::string_view method) {
  if (IsOpenMethod(method)) return true;
  const auto& index = ThePolicy().by_method;
  auto it = index.find(method);
  return it != index.end() && (it->second & Bit(role)) != 0;
}

std::string PolicyMarkdown() {
  std::string out = "| Method |";
  std::string rule = "|---|";
  for (Role r : kAllRoles) {
    out += " ";
    out += RoleName(r);
    out += " |";
    rule += ":-:|";
  }
  out += "\n" + rule + "\n";
  for (const auto& [method, roles] : ThePolicy().ordered) {
    // "/threadline.v1.SalesService/RegisterCustomer" -> "SalesService/RegisterCustomer"
    std::string_view shown = method;
    constexpr std::string_view kPrefix = "/threadline.v1.";
    if (shown.substr(0, kPrefix.size()) == kPrefix) shown.remove_prefix(kPrefix.size());
    out += "| `";
    out += shown;
    out += "` |";
    for (Role r : kAllRoles) out += (roles & Bit(r)) != 0 ? " ✓ |" : "   |";
    out += "\n";
  }
  return out;
}

}  // namespace threadline::server
