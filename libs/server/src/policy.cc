// The authorisation policy: the roles of the operator's policy file
// (policy::Policy, the shipped defaults until a file is loaded), as patterns
// over the services' methods. The methods come from the services'
// descriptors, so an RPC added to a .proto is covered by its service's
// patterns ("SupportService/*") the moment it is compiled, and the matrix
// test (which lists every method by hand) fails until someone looks at it.

#include "threadline/policy/policy.h"

#include <google/protobuf/descriptor.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "threadline/common/log.h"
#include "threadline/common/status.h"
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

struct ServiceRule {
  std::string_view service;  // full name, e.g. "threadline.v1.SalesService"
  // Any message of the service's file: calling descriptor() links the
  // generated file into the binary and registers it in the generated pool.
  const google::protobuf::Descriptor* (*anchor)();
};

// The services whose methods the table covers.
const std::vector<ServiceRule>& Rules() {
  static const auto* rules = new std::vector<ServiceRule>{
      {v1::SalesService::service_full_name(), &v1::RegisterCustomerRequest::descriptor},
      {v1::InstallationService::service_full_name(), &v1::ProposeAppointmentRequest::descriptor},
      {v1::SupportService::service_full_name(), &v1::OpenTicketRequest::descriptor},
      {v1::BillingService::service_full_name(), &v1::IssueInvoiceRequest::descriptor},
      {v1::JourneyService::service_full_name(), &v1::GetTimelineRequest::descriptor},
      {v1::JourneyExportService::service_full_name(), &v1::ExportCustomerRequest::descriptor},
      {v1::PrivacyService::service_full_name(), &v1::EraseCustomerRequest::descriptor},
      {v1::KeyService::service_full_name(), &v1::GetDataKeyRequest::descriptor},
  };
  return *rules;
}

// Every method of the services, full gRPC names in proto order.
const std::vector<std::string>& Methods() {
  static const auto* methods = [] {
    auto* out = new std::vector<std::string>;
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
        out->push_back("/" + service->full_name() + "/" + service->method(i)->name());
      }
    }
    return out;
  }();
  return *methods;
}

constexpr std::string_view kPackagePrefix = "/threadline.v1.";

// "SalesService/*", "SalesService/RegisterCustomer" or "*" against
// "/threadline.v1.SalesService/RegisterCustomer".
bool Matches(std::string_view pattern, std::string_view method) {
  if (pattern == "*") return true;
  if (method.substr(0, kPackagePrefix.size()) != kPackagePrefix) return false;
  method.remove_prefix(kPackagePrefix.size());
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == "/*") {
    pattern.remove_suffix(1);  // "SalesService/"
    return method.substr(0, pattern.size()) == pattern;
  }
  return method == pattern;
}

// Who may call what: the roles of an operator's policy, method by method.
struct AccessTable {
  std::vector<std::pair<std::string, RoleMask>> ordered;
  std::map<std::string, RoleMask, std::less<>> by_method;
};

absl::StatusOr<std::shared_ptr<const AccessTable>> BuildTable(const policy::Policy& p) {
  auto table = std::make_shared<AccessTable>();
  for (const auto& m : Methods()) table->ordered.emplace_back(m, 0);
  for (const auto& [name, rights] : p.roles()) {
    std::optional<Role> role = ParseRole(name);
    if (!role) {
      return absl::InvalidArgumentError("roles." + name + ": not a role Threadline knows");
    }
    for (size_t i = 0; i < rights.may.size(); ++i) {
      const std::string& pattern = rights.may[i];
      bool matched = false;
      for (auto& [method, mask] : table->ordered) {
        if (!Matches(pattern, method)) continue;
        mask |= Bit(*role);
        matched = true;
      }
      if (!matched) {
        return absl::InvalidArgumentError("roles." + name + ".may[" + std::to_string(i) + "]: '" +
                                          pattern +
                                          "' names no method of SalesService, "
                                          "InstallationService, SupportService, BillingService, "
                                          "JourneyService, JourneyExportService, PrivacyService "
                                          "or KeyService");
      }
    }
  }
  for (const auto& [method, mask] : table->ordered) table->by_method.emplace(method, mask);
  return std::shared_ptr<const AccessTable>(std::move(table));
}

// The table in force: the shipped policy's until SetAccessPolicy.
std::atomic<std::shared_ptr<const AccessTable>>& Current() {
  static auto* current = [] {
    auto table = BuildTable(policy::Policy::Defaults());
    if (!table.ok()) {
      // The shipped policy is tested to build; denying everything is the
      // safe way to fail if it ever did not.
      Logger("server").Error("the shipped policy does not build; every call is denied",
                             {{"error", table.status().ToString()}});
      table = std::make_shared<const AccessTable>();
    }
    return new std::atomic<std::shared_ptr<const AccessTable>>(*std::move(table));
  }();
  return *current;
}

}  // namespace

std::vector<std::string> AllMethods() { return Methods(); }

absl::Status CheckAccessPolicy(const policy::Policy& policy) { return BuildTable(policy).status(); }

absl::Status SetAccessPolicy(const policy::Policy& policy) {
  ASSIGN_OR_RETURN(std::shared_ptr<const AccessTable> table, BuildTable(policy));
  Current().store(std::move(table), std::memory_order_release);
  return absl::OkStatus();
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
  const std::shared_ptr<const AccessTable> table = Current().load(std::memory_order_acquire);
  auto it = table->by_method.find(method);
  return it != table->by_method.end() && (it->second & Bit(role)) != 0;
}

std::string PolicyMarkdown() {
  const std::shared_ptr<const AccessTable> table = Current().load(std::memory_order_acquire);
  std::string out = "| Method |";
  std::string rule = "|---|";
  for (Role r : kAllRoles) {
    out += " ";
    out += RoleName(r);
    out += " |";
    rule += ":-:|";
  }
  out += "\n" + rule + "\n";
  for (const auto& [method, roles] : table->ordered) {
    // "/threadline.v1.SalesService/RegisterCustomer" -> "SalesService/RegisterCustomer"
    std::string_view shown = method;
    if (shown.substr(0, kPackagePrefix.size()) == kPackagePrefix) {
      shown.remove_prefix(kPackagePrefix.size());
    }
    out += "| `";
    out += shown;
    out += "` |";
    for (Role r : kAllRoles) out += (roles & Bit(r)) != 0 ? " ✓ |" : "   |";
    out += "\n";
  }
  return out;
}

}  // namespace threadline::server
