#include "threadline/domain/topics.h"

namespace threadline::domain {

std::string DepartmentTopic(v1::Department department) {
  switch (department) {
    case v1::DEPARTMENT_SALES:
      return kSalesTopic;
    case v1::DEPARTMENT_INSTALLATION:
      return kInstallationTopic;
    case v1::DEPARTMENT_SUPPORT:
      return kSupportTopic;
    case v1::DEPARTMENT_BILLING:
      return kBillingTopic;
    case v1::DEPARTMENT_PRIVACY:
      return kPrivacyTopic;
    default:
      return "threadline.unknown.v1";
  }
}

std::vector<std::string> DepartmentTopics() {
  return {kSalesTopic, kInstallationTopic, kSupportTopic, kBillingTopic};
}

std::vector<std::string> RecordTopics() {
  return {kSalesTopic,   kInstallationTopic, kSupportTopic,
          kBillingTopic, kPrivacyTopic,      kDeadLetterTopic};
}

std::map<std::string, std::string> RecordTopicSettings() {
  return {{"retention.ms", "-1"}, {"retention.bytes", "-1"}, {"cleanup.policy", "delete"}};
}

}  // namespace threadline::domain
