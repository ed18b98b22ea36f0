#pragma once

// What this binary is: the version from the top-level CMakeLists.txt and
// the source commit seen when the build was configured ("unknown" outside
// a git checkout, "-dirty" appended when the tree had changes then). Shown
// by `threadline --version` and in the threadline_build_info metric.

#include <string_view>

namespace threadline::metrics {

std::string_view BuildVersion();
std::string_view BuildCommit();

}  // namespace threadline::metrics
