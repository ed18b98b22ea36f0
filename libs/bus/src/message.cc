#include "threadline/bus/bus.h"

namespace threadline::bus {

std::string Message::HeaderValue(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.key == name) return h.value;
  }
  return {};
}

}  // namespace threadline::bus
