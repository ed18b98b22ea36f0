// Every string field of every event, and of every view the journey keeps,
// says whether it is personal data ([(threadline.v1.personal) = true|false]),
// so a new field cannot reach a store or a topic unclassified.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "threadline/v1/envelope.pb.h"
#include "threadline/v1/journey.pb.h"
#include "threadline/v1/options.pb.h"

namespace threadline::privacy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// The string fields reachable from `root` (through message fields, at any
// depth) that carry no (personal) option, as "Message.field".
std::vector<std::string> Unclassified(const Descriptor* root) {
  std::vector<std::string> out;
  std::set<const Descriptor*> seen;
  std::vector<const Descriptor*> todo{root};
  while (!todo.empty()) {
    const Descriptor* d = todo.back();
    todo.pop_back();
    if (!seen.insert(d).second) continue;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const bool stringy =
          f->type() == FieldDescriptor::TYPE_STRING ||
          (f->is_map() && (f->message_type()->map_key()->type() == FieldDescriptor::TYPE_STRING ||
                           f->message_type()->map_value()->type() == FieldDescriptor::TYPE_STRING));
      if (stringy && !f->options().HasExtension(v1::personal)) out.push_back(f->full_name());
      if (f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_map()) {
        todo.push_back(f->message_type());
      }
    }
  }
  return out;
}

TEST(Classification, EveryStringOfEveryEventAndJourneyViewIsClassified) {
  for (const Descriptor* root : {v1::EventEnvelope::descriptor(), v1::CustomerContext::descriptor(),
                                 v1::TimelineEntry::descriptor(), v1::JourneyUpdate::descriptor(),
                                 v1::CustomerMatch::descriptor()}) {
    EXPECT_EQ(Unclassified(root), std::vector<std::string>())
        << "reachable from " << root->full_name();
  }
}

TEST(Classification, PersonalFieldsAreTheOnesTheGdprMeans) {
  auto personal = [](const Descriptor* d, const char* field) {
    return d->FindFieldByName(field)->options().GetExtension(v1::personal);
  };
  EXPECT_TRUE(personal(v1::CustomerRegistered::descriptor(), "name"));
  EXPECT_TRUE(personal(v1::CustomerRegistered::descriptor(), "phone_numbers"));
  EXPECT_TRUE(personal(v1::CustomerRegistered::descriptor(), "emails"));
  EXPECT_TRUE(personal(v1::PostalAddress::descriptor(), "line1"));
  EXPECT_TRUE(personal(v1::TicketOpened::descriptor(), "subject"));
  EXPECT_TRUE(personal(v1::InteractionAdded::descriptor(), "note"));
  EXPECT_TRUE(personal(v1::CustomerContext::descriptor(), "name"));
  EXPECT_FALSE(personal(v1::EventEnvelope::descriptor(), "customer_id"));
  EXPECT_FALSE(personal(v1::OrderItem::descriptor(), "sku"));
  EXPECT_FALSE(personal(v1::Money::descriptor(), "currency"));
}

// The check itself finds a field that says nothing.
TEST(Classification, AnUnclassifiedStringFieldIsReported) {
  google::protobuf::DescriptorPool pool(google::protobuf::DescriptorPool::generated_pool());
  google::protobuf::FileDescriptorProto file;
  file.set_name("threadline/test/unclassified.proto");
  file.set_package("threadline.test");
  file.set_syntax("proto3");
  file.add_dependency("threadline/v1/options.proto");
  auto* inner = file.add_message_type();
  inner->set_name("Inner");
  auto* note = inner->add_field();
  note->set_name("note");
  note->set_number(1);
  note->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  note->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  auto* outer = file.add_message_type();
  outer->set_name("NewEvent");
  auto* id = outer->add_field();
  id->set_name("thing_id");
  id->set_number(1);
  id->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  id->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  id->mutable_options()->SetExtension(v1::personal, false);
  auto* sub = outer->add_field();
  sub->set_name("inner");
  sub->set_number(2);
  sub->set_type(google::protobuf::FieldDescriptorProto::TYPE_MESSAGE);
  sub->set_type_name(".threadline.test.Inner");
  sub->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  const google::protobuf::FileDescriptor* built = pool.BuildFile(file);
  ASSERT_NE(built, nullptr);
  EXPECT_EQ(Unclassified(built->FindMessageTypeByName("NewEvent")),
            std::vector<std::string>{"threadline.test.Inner.note"});
}

}  // namespace
}  // namespace threadline::privacy
