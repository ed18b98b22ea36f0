#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace threadline {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct LogOptions {
  // "text" for people at a terminal, "json" (one object per line) for log
  // collectors. Default: text.
  std::string format = "text";
  // Minimum level written. Default: info.
  LogLevel level = LogLevel::kInfo;
};

// Appends `s` as a JSON string literal (quoted; quotes, backslashes and
// control characters escaped), as the json log format writes values.
void AppendJsonString(std::string& out, std::string_view s);

// Configures the process-wide sink: text goes to stderr, json to stdout.
// Call once at start-up, before any thread logs; without it, text at info
// level on stderr is used.
void ConfigureLogging(const LogOptions& options);

// One named logger per module. Messages are "what happened" followed by
// key=value fields, e.g. Info("append committed", {{"stream", s}}).
// Thread-safe; cheap to copy; hides spdlog from every other header.
class Logger {
 public:
  struct Field {
    std::string_view key;
    std::string value;
    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(v) {}
    template <typename N>
    requires std::is_arithmetic_v<N> Field(std::string_view k, N v)
        : key(k), value(std::to_string(v)) {}
  };

  explicit Logger(std::string module) : module_(std::move(module)) {}

  void Log(LogLevel level, std::string_view message,
           std::initializer_list<Field> fields = {}) const;
  void Debug(std::string_view m, std::initializer_list<Field> f = {}) const {
    Log(LogLevel::kDebug, m, f);
  }
  void Info(std::string_view m, std::initializer_list<Field> f = {}) const {
    Log(LogLevel::kInfo, m, f);
  }
  void Warn(std::string_view m, std::initializer_list<Field> f = {}) const {
    Log(LogLevel::kWarn, m, f);
  }
  void Error(std::string_view m, std::initializer_list<Field> f = {}) const {
    Log(LogLevel::kError, m, f);
  }

 private:
  std::string module_;
};

// Rate limit for logging in hot loops: Allow() is true at most once per
// interval. Thread-safe.
class LogEvery {
 public:
  explicit LogEvery(std::chrono::milliseconds interval) : interval_(interval) {}
  bool Allow();

 private:
  std::chrono::milliseconds interval_;
  std::atomic<int64_t> next_ms_{0};
};

}  // namespace threadline
