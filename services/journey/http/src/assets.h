#pragma once

#include <span>
#include <string_view>

namespace threadline::journey::web {

// One file of the dashboard: its URL path ("/index.html") and its bytes.
struct Asset {
  std::string_view path;
  std::string_view data;
};

// Every file of services/journey/http/web, embedded at build time by
// embed.cmake. Static storage; thread-safe.
std::span<const Asset> Assets();

}  // namespace threadline::journey::web
