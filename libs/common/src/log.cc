#include "threadline/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace threadline {
namespace {

struct Sink {
  std::shared_ptr<spdlog::logger> logger;
  bool json = false;
};

Sink& TheSink() {
  static Sink* sink = [] {
    auto* s = new Sink;
    s->logger = spdlog::stderr_color_mt("threadline");
    s->logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    return s;
  }();
  return *sink;
}

spdlog::level::level_enum ToSpd(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n') return true;
  }
  return false;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* kHex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void ConfigureLogging(const LogOptions& options) {
  Sink& sink = TheSink();
  sink.json = options.format == "json";
  if (sink.json) {
    // Log collectors (Kubernetes, Docker) read a container's stdout; people
    // at a terminal keep text on stderr, apart from program output.
    sink.logger->sinks().clear();
    sink.logger->sinks().push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
    sink.logger->set_pattern("%v");
  }
  sink.logger->set_level(ToSpd(options.level));
}

void Logger::Log(LogLevel level, std::string_view message,
                 std::initializer_list<Field> fields) const {
  Sink& sink = TheSink();
  auto spd_level = ToSpd(level);
  if (!sink.logger->should_log(spd_level)) return;
  std::string line;
  if (sink.json) {
    static const char* kNames[] = {"debug", "info", "warn", "error"};
    auto now = std::chrono::system_clock::now();
    line = "{\"ts\":";
    AppendJsonString(
        line,
        std::to_string(
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count()));
    line += ",\"level\":";
    AppendJsonString(line, kNames[static_cast<int>(level)]);
    line += ",\"logger\":";
    AppendJsonString(line, module_);
    line += ",\"msg\":";
    AppendJsonString(line, message);
    for (const auto& f : fields) {
      line.push_back(',');
      AppendJsonString(line, f.key);
      line.push_back(':');
      AppendJsonString(line, f.value);
    }
    line.push_back('}');
  } else {
    line.reserve(64);
    line += module_;
    line += ": ";
    line += message;
    for (const auto& f : fields) {
      line.push_back(' ');
      line += f.key;
      line.push_back('=');
      if (NeedsQuotes(f.value)) {
        AppendJsonString(line, f.value);
      } else {
        line += f.value;
      }
    }
  }
  sink.logger->log(spd_level, "{}", line);
}

bool LogEvery::Allow() {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t next = next_ms_.load(std::memory_order_relaxed);
  if (now < next) return false;
  return next_ms_.compare_exchange_strong(next, now + interval_.count());
}

}  // namespace threadline
