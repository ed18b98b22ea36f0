#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "threadline/policy/policy.h"

namespace threadline::policy::internal {

// `yaml` laid over `base`, every refusal prefixed "origin:line: path:".
// Sets source(), not digest().
absl::StatusOr<Policy> ParseOver(Policy base, std::string_view yaml, std::string_view origin);

}  // namespace threadline::policy::internal
