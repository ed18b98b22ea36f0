#pragma once

#include <string_view>

namespace threadline::policy::internal {

// The shipped policy as a policy file: Policy::Defaults() parses it, and
// docs/operations.md shows it verbatim (policy_test checks that it does).
extern const std::string_view kShippedPolicy;

}  // namespace threadline::policy::internal
