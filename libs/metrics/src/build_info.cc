#include "threadline/metrics/build_info.h"

#ifndef THREADLINE_VERSION
#error "THREADLINE_VERSION comes from libs/metrics/CMakeLists.txt"
#endif
#ifndef THREADLINE_COMMIT
#error "THREADLINE_COMMIT comes from libs/metrics/CMakeLists.txt"
#endif

namespace threadline::metrics {

std::string_view BuildVersion() { return THREADLINE_VERSION; }
std::string_view BuildCommit() { return THREADLINE_COMMIT; }

}  // namespace threadline::metrics
