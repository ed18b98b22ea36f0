#pragma once

// A deterministic CommandContext for Given/When/Then tests: a fixed time and
// ids from a counter that still have the real shape ("wo_" + 32 hex digits),
// so ids the domain made pass ValidateId when a test sends them back.
// Header-only; not thread-safe (one per test).

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "threadline/domain/domain.h"
#include "threadline/domain/roles.h"

namespace threadline::domain {

// "wo", 7 -> "wo_00000000000000000000000000000007".
inline std::string TestId(std::string_view prefix, unsigned long long n) {
  char digits[33];
  std::snprintf(digits, sizeof(digits), "%032llx", n);
  return std::string(prefix) + "_" + digits;
}

// now: a fixed instant; ids count from 1 across all prefixes.
inline CommandContext TestContext(TimePoint now, v1::Channel channel = v1::CHANNEL_PHONE) {
  CommandContext ctx;
  ctx.now = now;
  ctx.channel = channel;
  ctx.actor.set_principal("agent-1");
  ctx.actor.set_role(kRoleSupport);
  auto counter = std::make_shared<unsigned long long>(0);
  ctx.new_id = [counter](std::string_view prefix) { return TestId(prefix, ++*counter); };
  return ctx;
}

}  // namespace threadline::domain
