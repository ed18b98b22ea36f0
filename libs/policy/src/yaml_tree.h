#pragma once

// A YAML document as a plain tree, built from yaml-cpp's parser events so
// that hostile text is refused while it is read, before anything is built
// from it: no anchors or aliases (an alias bomb is refused at its first
// anchor, never expanded), no tags, no second document, no nesting deeper
// than kMaxYamlDepth, at most kMaxYamlNodes values. yaml-cpp stays inside
// this file's .cc.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace threadline::policy::internal {

inline constexpr size_t kMaxYamlDepth = 32;
inline constexpr size_t kMaxYamlNodes = 50'000;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  int line = 0;  // 1-based; 0 for the empty document
  std::string scalar;
  bool quoted = false;  // a scalar written in quotes
  // kSequence: the elements. kMap: keys and values alternating, in file
  // order; repeated keys are kept (the reader refuses them).
  std::vector<YamlNode> items;
};

// Parses one document. Empty text, or only comments, gives a kNull root.
// InvalidArgument "origin:line: ..." otherwise.
absl::StatusOr<YamlNode> ParseYaml(std::string_view text, std::string_view origin);

}  // namespace threadline::policy::internal
