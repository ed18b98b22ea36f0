#include "threadline/privacy_service/service.h"

#include <google/protobuf/util/json_util.h>

#include "threadline/common/ids.h"
#include "threadline/common/status.h"
#include "threadline/domain/validate.h"

namespace threadline::privacy {
namespace {

constexpr size_t kMaxReason = 200;

absl::Status CheckCustomer(const std::string& customer_id) {
  return domain::ValidateId("customer_id", customer_id, "cus");
}

command::Target SubjectTarget(const std::string& customer_id) {
  return {kDataSubjectAggregate, customer_id, customer_id};
}

absl::Status NotFound(const std::string& customer_id) {
  return absl::NotFoundError("customer " + customer_id +
                             " not found: no personal data is held about them");
}

absl::StatusOr<std::string> Json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string out;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &out, o); !s.ok()) {
    return absl::InternalError("cannot write the export as JSON: " + std::string(s.message()));
  }
  return out;
}

}  // namespace

void Evolve(DataSubject& s, const v1::EventEnvelope& e) {
  s.version = e.version();
  s.customer_id = e.customer_id();
  if (e.has_customer_erased()) s.erased = true;
  if (e.has_customer_data_exported()) ++s.exports;
}

absl::StatusOr<v1::EraseCustomerResponse> PrivacyService::EraseCustomer(
    const command::Invocation& inv, const v1::EraseCustomerRequest& r) {
  command::Common common;
  common.request_id = r.request_id();
  common.channel = r.channel();
  absl::StatusOr<command::Outcome> outcome = [&]() -> absl::StatusOr<command::Outcome> {
    RETURN_IF_ERROR(CheckCustomer(r.customer_id()));
    RETURN_IF_ERROR(domain::ValidateText("reason", r.reason(), kMaxReason));
    ASSIGN_OR_RETURN(command::Write w, command::internal::CommandWrite(
                                           env_, inv, common, r, SubjectTarget(r.customer_id())));
    // A retry of an erasure that was answered answers the same, without
    // touching the vault again.
    ASSIGN_OR_RETURN(std::optional<command::Outcome> prior, command::internal::Replayed(env_, w));
    if (prior) return std::move(*prior);
    ASSIGN_OR_RETURN(KeyLookup held, vault_->Find(r.customer_id()));
    if (!held.key && !held.erased) return NotFound(r.customer_id());
    // The key first: once it is gone the data is unreadable everywhere,
    // whatever happens next. A crash before the event is recorded leaves
    // an erased customer without CustomerErased; the retry records it.
    ASSIGN_OR_RETURN(Vault::Erasure erasure, vault_->Erase(r.customer_id()));
    return command::WriteAggregate<DataSubject>(
        env_, w,
        [&](const DataSubject& s,
            const domain::CommandContext&) -> absl::StatusOr<command::Decision> {
          if (s.erased) return command::Decision{};
          v1::EventEnvelope e;
          e.mutable_customer_erased()->set_customer_id(r.customer_id());
          e.mutable_customer_erased()->set_reason(r.reason());
          return command::Decision(domain::Events{std::move(e)});
        },
        [&](const command::Outcome& o) {
          v1::EraseCustomerResponse resp;
          resp.set_erased_now(erasure.erased_now);
          *resp.mutable_erased_at() = domain::ToProto(erasure.erased_at);
          command::FillAck(o, resp.mutable_ack());
          return resp.SerializeAsString();
        });
  }();
  command::internal::LogCommand(env_, inv, common, r, outcome);
  if (!outcome.ok()) return outcome.status();
  v1::EraseCustomerResponse resp;
  if (!resp.ParseFromString(outcome->response)) {
    return absl::DataLossError("stored answer for request_id " + r.request_id() +
                               " does not decode");
  }
  if (outcome->replayed) resp.mutable_ack()->set_replayed(true);
  return resp;
}

absl::StatusOr<v1::ExportCustomerDataResponse> PrivacyService::ExportCustomerData(
    const command::Invocation& inv, const v1::ExportCustomerDataRequest& r) {
  RETURN_IF_ERROR(CheckCustomer(r.customer_id()));
  RETURN_IF_ERROR(domain::ValidateText("reason", r.reason(), kMaxReason, /*required=*/false));
  v1::ExportCustomerDataResponse resp;
  resp.set_customer_id(r.customer_id());
  ASSIGN_OR_RETURN(KeyLookup held, vault_->Find(r.customer_id()));
  if (held.erased) {
    ASSIGN_OR_RETURN(auto at, vault_->ErasedAt(r.customer_id()));
    resp.set_erased(true);
    if (at) *resp.mutable_erased_at() = domain::ToProto(*at);
    ASSIGN_OR_RETURN(std::string erased_at, Json(resp.erased_at()));
    resp.set_document("{\"customer_id\":\"" + r.customer_id() +
                      "\",\"erased\":true,\"erased_at\":" + erased_at + "}");
    return resp;
  }
  if (!held.key) return NotFound(r.customer_id());
  if (!journey_) {
    return absl::FailedPreconditionError(
        "an export reads the journey: run the journey target with the privacy target");
  }
  ASSIGN_OR_RETURN(v1::CustomerDataExport data, journey_(r.customer_id()));
  ASSIGN_OR_RETURN(std::string document, Json(data));
  // Recorded before anything is handed out: every export is on the record.
  const std::string export_id = NewId("exp", env_.clock ? *env_.clock : Clock::Real());
  command::Write w;
  w.target = SubjectTarget(r.customer_id());
  w.stamp.channel = v1::CHANNEL_SYSTEM;
  w.stamp.actor = inv.actor;
  w.stamp.correlation_id = inv.correlation_id.empty() ? export_id : inv.correlation_id;
  RETURN_IF_ERROR(command::WriteAggregate<DataSubject>(
                      env_, w,
                      [&](const DataSubject&,
                          const domain::CommandContext&) -> absl::StatusOr<command::Decision> {
                        v1::EventEnvelope e;
                        auto* p = e.mutable_customer_data_exported();
                        p->set_customer_id(r.customer_id());
                        p->set_export_id(export_id);
                        p->set_reason(r.reason());
                        p->set_events(static_cast<uint32_t>(data.events_size()));
                        return command::Decision(domain::Events{std::move(e)});
                      })
                      .status());
  resp.set_export_id(export_id);
  resp.set_document("{\"export_id\":\"" + export_id + "\",\"customer\":" + document + "}");
  return resp;
}

}  // namespace threadline::privacy
