#pragma once

// The checks behind Calendar::Make, shared with the parser, which reports
// them at the line of the offending value: time zone names, opening
// periods as a policy file writes them ("08:00-12:00"), one weekday's list.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threadline/policy/calendar.h"

namespace date {
class time_zone;
}  // namespace date

namespace threadline::policy::internal {

// The zone of an IANA name (Europe/Berlin) in the tz database, or nullptr.
// Only names of at most 64 letters, digits and / _ - + are looked up.
const date::time_zone* FindTimeZone(std::string_view name);

// "mon" ... "sun", index 0 = Monday as in Calendar.
inline constexpr std::string_view kWeekdayNames[7] = {"mon", "tue", "wed", "thu",
                                                      "fri", "sat", "sun"};

// "HH:MM-HH:MM" with 00:00 <= start < end <= 24:00. InvalidArgument with
// what is wrong and how to write it (no field name: the caller adds it).
absl::StatusOr<Period> ParsePeriod(std::string_view text);
// 510 -> "08:30", 1440 -> "24:00".
std::string FormatMinutes(int minutes);
// "08:00-12:00".
std::string FormatPeriod(const Period& p);

struct PeriodProblem {
  size_t index;         // the first period that is wrong
  std::string message;  // what is wrong with it
};
// Each period within the day, in time order, not overlapping the one
// before; nullopt when the day is fine.
std::optional<PeriodProblem> CheckDay(const std::vector<Period>& periods);

}  // namespace threadline::policy::internal
