#include "threadline/domain/envelope_check.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <string_view>
#include <vector>

#include "threadline/common/status.h"
#include "threadline/domain/cat.h"
#include "threadline/domain/validate.h"

namespace threadline::domain {
namespace {

namespace pb = google::protobuf;

// Deeper than any message of envelope.proto; a bound all the same.
constexpr int kMaxDepth = 16;

absl::Status Invalid(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(Cat(field, ": ", why));
}

// technician_id names a person in the installer's own planning system; the
// command checks it as text of at most kMaxIdLength bytes, not as an id.
bool IsTextNamedLikeAnId(const std::string& name) { return name == "technician_id"; }

// A string field's longest value: kMaxTextLength, except the policy text a
// PolicyChanged records and text the command bounds like an id.
size_t MaxTextLength(const pb::FieldDescriptor& f) {
  if (f.full_name() == "threadline.v1.PolicyChanged.source") return kMaxPolicySourceBytes;
  return IsTextNamedLikeAnId(std::string(f.name())) ? kMaxIdLength : kMaxTextLength;
}

bool IsIdField(const pb::FieldDescriptor& f) {
  std::string name(f.name());
  if (IsTextNamedLikeAnId(name)) return false;
  return name.ends_with("_id") || name.ends_with("_ids");
}

absl::Status CheckId(std::string_view field, std::string_view value) {
  if (value.size() > kMaxIdLength) {
    return Invalid(field, Cat("is ", value.size(), " bytes; an id is at most ", kMaxIdLength));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c <= 0x20 || c >= 0x7f) {
      static const char* kHex = "0123456789abcdef";
      return Invalid(field, Cat("has byte 0x", kHex[c >> 4], kHex[c & 15], " at ", i,
                                "; an id is printable ASCII without spaces"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckText(std::string_view field, std::string_view value, size_t max_len) {
  if (value.size() > max_len) {
    return Invalid(field, Cat("is ", value.size(), " bytes; at most ", max_len));
  }
  if (!IsValidUtf8(value)) return Invalid(field, "is not valid UTF-8");
  if (value.find('\0') != std::string_view::npos) return Invalid(field, "contains a NUL byte");
  return absl::OkStatus();
}

absl::Status CheckMessage(const pb::Message& m, const std::string& path, int depth) {
  if (depth > kMaxDepth) return Invalid(path, "is nested too deeply");
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  if (d->full_name() == "google.protobuf.Timestamp") {
    const auto& ts = static_cast<const pb::Timestamp&>(m);
    if (ts.seconds() == 0 && ts.nanos() == 0) return absl::OkStatus();
    return ValidateTimestamp(path, ts);
  }
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    std::string name =
        path.empty() ? std::string(f->name()) : Cat(path, ".", std::string(f->name()));
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    if (f->is_repeated()) RETURN_IF_ERROR(ValidateCount(name, n, kMaxRepeated * 100));
    for (int i = 0; i < n; ++i) {
      std::string at = f->is_repeated() ? IndexedField(name, i) : name;
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_STRING: {
          if (f->type() == pb::FieldDescriptor::TYPE_BYTES) break;
          std::string scratch;
          const std::string& v = f->is_repeated() ? r->GetRepeatedStringReference(m, f, i, &scratch)
                                                  : r->GetStringReference(m, f, &scratch);
          if (IsIdField(*f)) {
            RETURN_IF_ERROR(CheckId(at, v));
          } else {
            RETURN_IF_ERROR(CheckText(at, v, MaxTextLength(*f)));
          }
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
          int v = f->is_repeated() ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
          if (f->enum_type()->FindValueByNumber(v) == nullptr) {
            return Invalid(at, Cat("has value ", v, ", which is not a known ",
                                   std::string(f->enum_type()->name())));
          }
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
          const pb::Message& sub =
              f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
          RETURN_IF_ERROR(CheckMessage(sub, at, depth + 1));
          break;
        }
        default:
          break;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEnvelopeSize(size_t size) {
  if (size <= kMaxEnvelopeBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      Cat("the envelope is ", size, " bytes; an envelope is at most ", kMaxEnvelopeBytes));
}

absl::Status ValidateEnvelope(const v1::EventEnvelope& envelope) {
  if (envelope.event_id().empty()) return Invalid("event_id", "is required");
  RETURN_IF_ERROR(CheckEnvelopeSize(envelope.ByteSizeLong()));
  return CheckMessage(envelope, "", 0);
}

}  // namespace threadline::domain
