#include "calendar_checks.h"

#include <date/tz.h>

#include <exception>

#include "text.h"
#include "threadline/domain/cat.h"

namespace threadline::policy::internal {
namespace {

using domain::Cat;

constexpr std::string_view kHowTo = "write HH:MM-HH:MM such as 08:00-12:00";

// "HH:MM" -> minutes from midnight, or -1.
int ParseClock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4}) {
    if (!IsDigit(s[i])) return -1;
  }
  const int hours = (s[0] - '0') * 10 + (s[1] - '0');
  const int minutes = (s[3] - '0') * 10 + (s[4] - '0');
  if (hours > 24 || minutes > 59 || (hours == 24 && minutes != 0)) return -1;
  return hours * 60 + minutes;
}

bool IsTimeZoneName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = IsAlpha(c) || IsDigit(c) || c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const date::time_zone* FindTimeZone(std::string_view name) {
  if (!IsTimeZoneName(name)) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    // Not in the database (or no database at all): the caller says so.
    return nullptr;
  }
}

absl::StatusOr<Period> ParsePeriod(std::string_view text) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    return absl::InvalidArgumentError(Cat(Quote(text), " is not a period; ", kHowTo));
  }
  const int start = ParseClock(text.substr(0, dash));
  const int end = ParseClock(text.substr(dash + 1));
  if (start < 0 || end < 0) {
    return absl::InvalidArgumentError(
        Cat(Quote(text), " is not a period; ", kHowTo, " (hours 00 to 24, minutes 00 to 59)"));
  }
  if (start >= end) {
    return absl::InvalidArgumentError(
        Cat(Quote(text),
            ": the start must be before the end; a period cannot cross midnight, so write "
            "it as two, one ending at 24:00 and one starting at 00:00 the next day"));
  }
  return Period{start, end};
}

std::string FormatMinutes(int minutes) {
  std::string out;
  const int h = minutes / 60, m = minutes % 60;
  out.push_back(static_cast<char>('0' + h / 10));
  out.push_back(static_cast<char>('0' + h % 10));
  out.push_back(':');
  out.push_back(static_cast<char>('0' + m / 10));
  out.push_back(static_cast<char>('0' + m % 10));
  return out;
}

std::string FormatPeriod(const Period& p) {
  return Cat(FormatMinutes(p.first), "-", FormatMinutes(p.second));
}

std::optional<PeriodProblem> CheckDay(const std::vector<Period>& periods) {
  for (size_t i = 0; i < periods.size(); ++i) {
    const auto [start, end] = periods[i];
    if (start < 0 || end > Calendar::kMinutesPerDay || start >= end) {
      return PeriodProblem{i, Cat("period ", start, "-", end,
                                  " minutes is not within the day with its start before its "
                                  "end (0 <= start < end <= 1440)")};
    }
    if (i == 0) continue;
    const Period& before = periods[i - 1];
    if (start < before.second) {
      if (end > before.first) {
        return PeriodProblem{i, Cat(FormatPeriod(periods[i]), " overlaps ", FormatPeriod(before),
                                    "; periods of a day must not overlap")};
      }
      return PeriodProblem{i, Cat(FormatPeriod(periods[i]), " comes before ", FormatPeriod(before),
                                  "; list a day's periods in time order")};
    }
  }
  return std::nullopt;
}

}  // namespace threadline::policy::internal
