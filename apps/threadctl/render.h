#pragma once

// Text and JSON renderings of journey data for people at a terminal.

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "threadline/v1/journey.pb.h"

namespace threadline::ctl {

class Renderer {
 public:
  explicit Renderer(bool color) : color_(color) {}
  std::string Timeline(const std::vector<v1::TimelineEntry>& entries) const;
  std::string TimelineJson(const std::vector<v1::TimelineEntry>& entries) const;
  std::string Card(const v1::CustomerContext& card) const;
  std::string Update(const v1::JourneyUpdate& u) const;
  std::string UpdateJson(const v1::JourneyUpdate& u) const;
  std::string Json(const google::protobuf::Message& m) const;

 private:
  std::string Paint(const std::string& text, const char* code) const;
  std::string Line(const v1::TimelineEntry& e) const;
  bool color_;
};

std::string StatusCodeName(grpc::StatusCode code);
// "2026-11-22 08:01" in UTC.
std::string FormatTime(int64_t unix_seconds);

}  // namespace threadline::ctl
