#include "threadline/privacy/sealer.h"

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "threadline/v1/options.pb.h"

namespace threadline::privacy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The fields of a message type that sealing visits: its personal strings,
// and the message fields that lead to some.
struct Plan {
  std::vector<const FieldDescriptor*> strings;
  std::vector<const FieldDescriptor*> messages;
};

bool IsPersonal(const FieldDescriptor* f) {
  return f->type() == FieldDescriptor::TYPE_STRING && f->options().GetExtension(v1::personal);
}

class Plans {
 public:
  const Plan& For(const Descriptor* d) {
    std::lock_guard lock(mu_);
    return Build(d);
  }

 private:
  const Plan& Build(const Descriptor* d) {
    if (auto it = plans_.find(d); it != plans_.end()) return *it->second;
    // Inserted before its fields are walked, so a recursive type ends.
    auto& slot = plans_[d];
    slot = std::make_unique<Plan>();
    Plan plan;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (IsPersonal(f)) {
        plan.strings.push_back(f);
      } else if (f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_map()) {
        const Plan& sub = Build(f->message_type());
        if (!sub.strings.empty() || !sub.messages.empty() || f->message_type() == d) {
          plan.messages.push_back(f);
        }
      }
    }
    *plans_[d] = std::move(plan);
    return *plans_[d];
  }

  std::mutex mu_;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<Plan>> plans_;
};

Plans& AllPlans() {
  static auto* plans = new Plans();
  return *plans;
}

std::string Path(const std::string& parent, const FieldDescriptor* f, int index) {
  std::string p = parent;
  if (!p.empty()) p.push_back('.');
  p += std::to_string(f->number());
  if (index >= 0) {
    p.push_back('#');
    p += std::to_string(index);
  }
  return p;
}

std::string Aad(std::string_view context, const std::string& path) {
  std::string aad(context);
  aad.push_back('|');
  aad += path;
  return aad;
}

// Calls fn(path, value) for each personal string of `msg`, and lets it
// replace the value; stops at the first error.
template <typename Fn>
absl::Status Visit(Message& msg, const std::string& parent, Fn&& fn) {
  const Plan& plan = AllPlans().For(msg.GetDescriptor());
  const Reflection* r = msg.GetReflection();
  for (const FieldDescriptor* f : plan.strings) {
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(msg, f); ++i) {
        std::string v = r->GetRepeatedString(msg, f, i);
        bool changed = false;
        absl::Status s = fn(Path(parent, f, i), v, changed);
        if (!s.ok()) return s;
        if (changed) r->SetRepeatedString(&msg, f, i, std::move(v));
      }
    } else if (r->HasField(msg, f) || !f->has_presence()) {
      std::string v = r->GetString(msg, f);
      if (v.empty()) continue;
      bool changed = false;
      absl::Status s = fn(Path(parent, f, -1), v, changed);
      if (!s.ok()) return s;
      if (changed) r->SetString(&msg, f, std::move(v));
    }
  }
  for (const FieldDescriptor* f : plan.messages) {
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(msg, f); ++i) {
        absl::Status s = Visit(*r->MutableRepeatedMessage(&msg, f, i), Path(parent, f, i), fn);
        if (!s.ok()) return s;
      }
    } else if (r->HasField(msg, f)) {
      absl::Status s = Visit(*r->MutableMessage(&msg, f), Path(parent, f, -1), fn);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

void SealMessage(Message& msg, const Key& key, std::string_view context) {
  Cipher cipher(key);
  (void)Visit(msg, "", [&](const std::string& path, std::string& v, bool& changed) {
    if (!v.empty() && !IsSealed(v)) {
      v = cipher.Seal(Aad(context, path), v);
      changed = true;
    }
    return absl::OkStatus();
  });
}

absl::Status OpenMessage(Message& msg, const Key* key, std::string_view context) {
  std::optional<Cipher> cipher;
  if (key != nullptr) cipher.emplace(*key);
  return Visit(msg, "", [&](const std::string& path, std::string& v, bool& changed) {
    if (key == nullptr) {
      changed = !v.empty();
      v.clear();
      return absl::OkStatus();
    }
    if (!IsSealed(v)) return absl::OkStatus();
    auto opened = cipher->Open(Aad(context, path), v);
    if (!opened.ok()) {
      return absl::DataLossError("personal field " + path + " of " + std::string(context) + ": " +
                                 std::string(opened.status().message()));
    }
    v = std::move(*opened);
    changed = true;
    return absl::OkStatus();
  });
}

bool HasPersonal(const Message& msg) {
  bool found = false;
  // Visit needs a mutable message; it changes nothing here.
  (void)Visit(const_cast<Message&>(msg), "", [&](const std::string&, std::string& v, bool&) {
    if (!v.empty()) found = true;
    return absl::OkStatus();
  });
  return found;
}

bool HasSealed(const Message& msg) {
  bool found = false;
  (void)Visit(const_cast<Message&>(msg), "", [&](const std::string&, std::string& v, bool&) {
    if (IsSealed(v)) found = true;
    return absl::OkStatus();
  });
  return found;
}

std::string SubjectOf(const v1::EventEnvelope& e) {
  if (!e.customer_id().empty()) return e.customer_id();
  return "stream:" + e.aggregate_type() + "-" + e.aggregate_id();
}

std::string EventContext(const v1::EventEnvelope& e) { return "event:" + e.event_id(); }

void SealEvent(v1::EventEnvelope& e, const Key& key) { SealMessage(e, key, EventContext(e)); }

absl::Status OpenEvent(v1::EventEnvelope& e, const Key* key) {
  return OpenMessage(e, key, EventContext(e));
}

}  // namespace threadline::privacy
