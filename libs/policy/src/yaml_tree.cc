#include "yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <exception>
#include <sstream>
#include <utility>

#include "text.h"
#include "threadline/domain/cat.h"

namespace threadline::policy::internal {
namespace {

using domain::Cat;

// Thrown from the event handler through yaml-cpp's parser, caught below.
// line: 1-based, 0 when unknown; an empty message means kNoAnchors.
struct Refusal {
  int line;
  std::string message;
};

int LineOf(const YAML::Mark& mark) { return mark.line + 1; }

constexpr std::string_view kNoAnchors =
    "anchors and aliases (&name, *name) are not allowed in a policy file; write each value out";

class TreeBuilder final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) {
      throw Refusal{LineOf(mark), "a policy file is one YAML document; remove the second '---'"};
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    CheckAnchor(mark, anchor);
    Add(Node(YamlNode::Kind::kNull, mark));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { throw Refusal{LineOf(mark), {}}; }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    YamlNode n = Node(YamlNode::Kind::kScalar, mark);
    n.scalar = value;
    n.quoted = tag == "!";  // yaml-cpp's tag for a quoted scalar without one
    Add(std::move(n));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    Push(Node(YamlNode::Kind::kSequence, mark));
  }
  void OnSequenceEnd() override { Pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    Push(Node(YamlNode::Kind::kMap, mark));
  }
  void OnMapEnd() override { Pop(); }
  void OnAnchor(const YAML::Mark& mark, const std::string&) override {
    throw Refusal{LineOf(mark), {}};
  }

  YamlNode TakeRoot() { return std::move(root_); }

  // The key path of the value being read ("sla.escalated.l2",
  // "sla.tickets[3]"), for messages; "" at the top.
  std::string PathHere() const {
    std::string path;
    for (const YamlNode& frame : stack_) {
      if (frame.kind == YamlNode::Kind::kSequence) {
        path += Cat("[", frame.items.size(), "]");
        continue;
      }
      // A map: inside the value of its last key, if a key was read.
      if (frame.items.size() % 2 == 0 || frame.items.back().kind != YamlNode::Kind::kScalar) break;
      if (!path.empty()) path += ".";
      path += Sanitized(frame.items.back().scalar);
    }
    return path;
  }

 private:
  static YamlNode Node(YamlNode::Kind kind, const YAML::Mark& mark) {
    YamlNode n;
    n.kind = kind;
    n.line = mark.line + 1;
    return n;
  }
  static void CheckAnchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) throw Refusal{LineOf(mark), {}};
  }
  // "?" (plain) and "!" (quoted) are what yaml-cpp reports for a value
  // without a tag.
  static void CheckTag(const YAML::Mark& mark, const std::string& tag) {
    if (!tag.empty() && tag != "?" && tag != "!") {
      throw Refusal{LineOf(mark), "tags (!!str, !name) are not used in a policy file; remove it"};
    }
  }
  void Push(YamlNode n) {
    if (stack_.size() >= kMaxYamlDepth) {
      throw Refusal{n.line, Cat("nested deeper than ", kMaxYamlDepth, " levels")};
    }
    Count(n.line);
    stack_.push_back(std::move(n));
  }
  void Pop() {
    YamlNode n = std::move(stack_.back());
    stack_.pop_back();
    Attach(std::move(n));
  }
  void Add(YamlNode n) {
    Count(n.line);
    Attach(std::move(n));
  }
  void Attach(YamlNode n) {
    if (stack_.empty()) {
      root_ = std::move(n);
    } else {
      stack_.back().items.push_back(std::move(n));
    }
  }
  void Count(int line) {
    if (++nodes_ > kMaxYamlNodes) {
      throw Refusal{line, Cat("more than ", kMaxYamlNodes, " values; a policy file has far fewer")};
    }
  }

  int documents_ = 0;
  size_t nodes_ = 0;
  std::vector<YamlNode> stack_;
  YamlNode root_;
};

absl::Status Refused(std::string_view origin, int line, std::string_view path,
                     std::string_view message) {
  const std::string where = line > 0 ? Cat(origin, ":", line, ": ") : Cat(origin, ": ");
  if (path.empty()) return absl::InvalidArgumentError(Cat(where, message));
  return absl::InvalidArgumentError(Cat(where, path, ": ", message));
}

}  // namespace

absl::StatusOr<YamlNode> ParseYaml(std::string_view text, std::string_view origin) {
  std::istringstream in{std::string(text)};
  TreeBuilder builder;
  try {
    YAML::Parser parser(in);
    // A second call finds either nothing or a second document, which the
    // builder refuses at its start.
    if (parser.HandleNextDocument(builder)) parser.HandleNextDocument(builder);
  } catch (const Refusal& r) {
    return Refused(origin, r.line, builder.PathHere(),
                   r.message.empty() ? kNoAnchors : std::string_view(r.message));
  } catch (const YAML::Exception& e) {
    return Refused(origin, LineOf(e.mark), builder.PathHere(), Cat("not valid YAML: ", e.msg));
  } catch (const std::exception& e) {
    return Refused(origin, 0, builder.PathHere(), Cat("not valid YAML: ", e.what()));
  }
  return builder.TakeRoot();
}

}  // namespace threadline::policy::internal
