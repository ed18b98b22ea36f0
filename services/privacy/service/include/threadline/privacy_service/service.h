#pragma once

// The privacy service: data-subject requests (GDPR Art. 15, 17, 20) over
// the key vault. An erasure destroys the customer's data key, which makes
// every sealed copy of their personal data unreadable at once (stores,
// topics, replicas, backups), and records CustomerErased on the privacy
// topic so the journey and every key cache follow. An export gathers what
// the journey holds, opened, and records CustomerDataExported.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "threadline/command/runner.h"
#include "threadline/privacy/vault.h"
#include "threadline/v1/journey.pb.h"
#include "threadline/v1/privacy.grpc.pb.h"

namespace threadline::privacy {

// Everything the journey holds about a customer, opened: the export's
// source (in this process, or over gRPC from the journey's
// JourneyExportService).
using JourneyExportFn =
    std::function<absl::StatusOr<v1::CustomerDataExport>(const std::string& customer_id)>;

// The erasure and export records of one customer, folded.
struct DataSubject {
  std::string customer_id;
  uint64_t version = 0;
  bool erased = false;
  uint32_t exports = 0;
};
void Evolve(DataSubject& s, const v1::EventEnvelope& e);

inline constexpr char kDataSubjectAggregate[] = "data_subject";

class PrivacyService {
 public:
  // `env.store` holds the privacy events (nothing personal, so not sealed);
  // the vault and `journey` must outlive the service.
  PrivacyService(command::Env env, Vault* vault, JourneyExportFn journey)
      : env_(std::move(env)), vault_(vault), journey_(std::move(journey)) {}

  // NOT_FOUND for a customer of whom nothing personal is held; a second
  // erasure answers erased_now = false and the first one's time.
  absl::StatusOr<v1::EraseCustomerResponse> EraseCustomer(const command::Invocation& inv,
                                                          const v1::EraseCustomerRequest& r);
  // The document of everything held; for an erased customer, a document
  // that says so (erased = true) and nothing else.
  absl::StatusOr<v1::ExportCustomerDataResponse> ExportCustomerData(
      const command::Invocation& inv, const v1::ExportCustomerDataRequest& r);

 private:
  command::Env env_;
  Vault* vault_;
  JourneyExportFn journey_;
};

// The gRPC face of PrivacyService.
std::unique_ptr<grpc::Service> NewPrivacyGrpc(PrivacyService* service);

}  // namespace threadline::privacy
