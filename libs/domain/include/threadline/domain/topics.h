#pragma once

// Every topic name, defined once: each department publishes its events to
// threadline.<department>.v1, the journey republishes its entries to
// threadline.journey.v1 and parks unreadable input on
// threadline.deadletter.v1. All are keyed by customer_id with the same
// partition count. Everything else refers to these names.

#include <map>
#include <string>
#include <vector>

#include "threadline/v1/common.pb.h"

namespace threadline::domain {

inline constexpr char kSalesTopic[] = "threadline.sales.v1";
inline constexpr char kInstallationTopic[] = "threadline.installation.v1";
inline constexpr char kSupportTopic[] = "threadline.support.v1";
inline constexpr char kBillingTopic[] = "threadline.billing.v1";
// Erasures and exports (privacy.proto): the journey and every process that
// caches data keys follow it.
inline constexpr char kPrivacyTopic[] = "threadline.privacy.v1";
inline constexpr char kJourneyTopic[] = "threadline.journey.v1";
inline constexpr char kDeadLetterTopic[] = "threadline.deadletter.v1";

// The topic of `department`'s events (the privacy service's included);
// "threadline.unknown.v1" for a value that is none of them.
std::string DepartmentTopic(v1::Department department);

// The four department topics: sales, installation, support, billing.
std::vector<std::string> DepartmentTopics();

// The topics that are the record: the department topics, the privacy
// topic and the dead-letter topic. `journey rebuild` and `store recover`
// read them from their start, so they keep every message as written.
std::vector<std::string> RecordTopics();
// The Kafka settings that say so (retention.ms=-1, retention.bytes=-1,
// cleanup.policy=delete): what the record topics are made with, and what
// an existing one must have.
std::map<std::string, std::string> RecordTopicSettings();

}  // namespace threadline::domain
