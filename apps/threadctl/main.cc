// threadctl: drive and inspect a Threadline suite from a shell.
//
//   threadctl journey show CUSTOMER [--json]      readable timeline
//   threadctl journey follow [CUSTOMER...]        live updates
//   threadctl context CUSTOMER [--json]           the context card
//   threadctl customer find PHONE|EMAIL|NAME
//   threadctl <sales|installation|support|billing> <operation> [--field value ...]
//
// Every department operation is generated from the service descriptors, so
// each RPC has a command: scalar fields are flags (--customer-id), message
// fields take JSON (--address '{"line1":"..."}') and timestamps RFC 3339.
// request_id defaults to a fresh UUID. Address and token come from
// --address/--token or THREADLINE_ADDRESS/THREADLINE_TOKEN.

#include <CLI/CLI.hpp>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <unistd.h>

#include <iostream>
#include <map>

#include "render.h"
#include "threadline/common/ids.h"
#include "threadline/v1/billing.grpc.pb.h"
#include "threadline/v1/installation.grpc.pb.h"
#include "threadline/v1/journey.grpc.pb.h"
#include "threadline/v1/sales.grpc.pb.h"
#include "threadline/v1/support.grpc.pb.h"

namespace {

namespace pb = google::protobuf;
using threadline::ctl::Renderer;

struct Connection {
  std::string address = "127.0.0.1:50051";
  std::string token;
  std::string tls_ca;
  bool json = false;

  std::shared_ptr<grpc::Channel> Channel() const {
    if (tls_ca.empty()) return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    grpc::SslCredentialsOptions o;
    std::ifstream in(tls_ca);
    o.pem_root_certs.assign(std::istreambuf_iterator<char>(in), {});
    return grpc::CreateChannel(address, grpc::SslCredentials(o));
  }
  std::unique_ptr<grpc::ClientContext> Context(bool streaming = false) const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!streaming) ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }
};

int Fail(const grpc::Status& s) {
  std::cerr << "threadctl: " << threadline::ctl::StatusCodeName(s.error_code()) << ": "
            << s.error_message() << "\n";
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
}

std::string Kebab(const std::string& camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    char c = camel[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (i) out.push_back('-');
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FlagName(const pb::FieldDescriptor* f) {
  std::string n = f->name();
  std::replace(n.begin(), n.end(), '_', '-');
  return n;
}

// Sets a field from a command-line string.
bool SetField(pb::Message& m, const pb::FieldDescriptor* f, const std::string& value,
              std::string& error) {
  const auto* r = m.GetReflection();
  auto bad = [&](const char* what) {
    error = "--" + FlagName(f) + ": '" + value + "' is not " + what;
    return false;
  };
  try {
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        f->is_repeated() ? r->AddString(&m, f, value) : r->SetString(&m, f, value);
        return true;
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        bool b = value == "true" || value == "1" || value == "yes";
        if (!b && value != "false" && value != "0" && value != "no") return bad("true or false");
        f->is_repeated() ? r->AddBool(&m, f, b) : r->SetBool(&m, f, b);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_INT32:
        f->is_repeated() ? r->AddInt32(&m, f, std::stoi(value)) : r->SetInt32(&m, f, std::stoi(value));
        return true;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        f->is_repeated() ? r->AddInt64(&m, f, std::stoll(value))
                         : r->SetInt64(&m, f, std::stoll(value));
        return true;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        f->is_repeated() ? r->AddUInt64(&m, f, std::stoull(value))
                         : r->SetUInt64(&m, f, std::stoull(value));
        return true;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        f->is_repeated() ? r->AddUInt32(&m, f, static_cast<uint32_t>(std::stoul(value)))
                         : r->SetUInt32(&m, f, static_cast<uint32_t>(std::stoul(value)));
        return true;
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        // Accept "phone", "PHONE" or "CHANNEL_PHONE".
        std::string upper = value;
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        const pb::EnumValueDescriptor* ev = f->enum_type()->FindValueByName(upper);
        if (ev == nullptr) {
          for (int i = 0; i < f->enum_type()->value_count() && ev == nullptr; ++i) {
            const auto* cand = f->enum_type()->value(i);
            const std::string& n = cand->name();
            if (n.size() > upper.size() && n.compare(n.size() - upper.size(), upper.size(), upper) == 0 &&
                n[n.size() - upper.size() - 1] == '_') {
              ev = cand;
            }
          }
        }
        if (ev == nullptr) return bad(("a " + f->enum_type()->name()).c_str());
        f->is_repeated() ? r->AddEnum(&m, f, ev) : r->SetEnum(&m, f, ev);
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        std::string json = value;
        if (json.empty() || (json[0] != '{' && json[0] != '[' && json[0] != '"')) {
          json = "\"" + json + "\"";  // a timestamp such as 2026-11-23T10:00:00Z
        }
        pb::Message* sub = f->is_repeated() ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
        auto s = pb::util::JsonStringToMessage(json, sub);
        if (!s.ok()) return bad(("JSON for " + f->message_type()->name() + " (" +
                                 std::string(s.message()) + ")")
                                    .c_str());
        return true;
      }
      default:
        return bad("supported");
    }
  } catch (const std::exception&) {
    return bad("a number");
  }
}

// Going through a message of the same file links that file's descriptors in.
template <typename MessageInFile>
const pb::ServiceDescriptor* Service(const char* name) {
  return MessageInFile::descriptor()->file()->FindServiceByName(name);
}

struct OperationCommand {
  const pb::MethodDescriptor* method;
  std::map<const pb::FieldDescriptor*, std::vector<std::string>> values;
  std::string json;
};

int CallUnary(const Connection& conn, const pb::MethodDescriptor* method, const pb::Message& req) {
  const pb::Message* prototype =
      pb::MessageFactory::generated_factory()->GetPrototype(method->output_type());
  std::unique_ptr<pb::Message> resp(prototype->New());
  auto channel = conn.Channel();
  std::string path = "/" + method->service()->full_name() + "/" + method->name();
  grpc::internal::RpcMethod rpc(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, channel);
  auto ctx = conn.Context();
  grpc::Status s = grpc::internal::BlockingUnaryCall<pb::Message, pb::Message>(
      channel.get(), rpc, ctx.get(), req, resp.get());
  if (!s.ok()) return Fail(s);
  std::string out;
  pb::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)pb::util::MessageToJsonString(*resp, &out, o);
  std::cout << out;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"threadctl: drive and inspect Threadline"};
  app.require_subcommand(1);
  Connection conn;
  if (const char* a = std::getenv("THREADLINE_ADDRESS")) conn.address = a;
  if (const char* t = std::getenv("THREADLINE_TOKEN")) conn.token = t;
  app.add_option("--address", conn.address, "server address (THREADLINE_ADDRESS)")
      ->capture_default_str();
  app.add_option("--token", conn.token, "bearer token (THREADLINE_TOKEN)");
  app.add_option("--tls-ca", conn.tls_ca, "CA certificate to verify a TLS server")
      ->envname("THREADLINE_TLS_CA");
  app.add_flag("--json", conn.json, "print JSON instead of text");
  bool color = isatty(1);
  app.add_flag("--color,!--no-color", color, "colours (default: when stdout is a terminal)");

  // journey
  auto* journey = app.add_subcommand("journey", "a customer's timeline");
  journey->require_subcommand(1);
  std::string customer;
  int limit = 200;
  auto* show = journey->add_subcommand("show", "print a customer's timeline");
  show->add_option("customer", customer, "customer id")->required();
  show->add_option("--limit", limit, "entries to show (newest last)")->capture_default_str();
  std::vector<std::string> follow_customers;
  std::string resume;
  auto* follow = journey->add_subcommand("follow", "print journey updates as they happen");
  follow->add_option("customers", follow_customers, "customer ids (default: every customer)");
  follow->add_option("--resume", resume, "resume token of the last update seen");

  auto* context = app.add_subcommand("context", "print a customer's context card");
  context->add_option("customer", customer, "customer id")->required();

  auto* customer_cmd = app.add_subcommand("customer", "find customers");
  customer_cmd->require_subcommand(1);
  std::string query;
  auto* find = customer_cmd->add_subcommand("find", "by phone number, e-mail or name prefix");
  find->add_option("query", query, "phone (any format), e-mail or name prefix")->required();

  // Department operations from the descriptors.
  std::vector<std::unique_ptr<OperationCommand>> ops;
  std::map<CLI::App*, OperationCommand*> op_of;
  const std::pair<const char*, const pb::ServiceDescriptor*> departments[] = {
      {"sales", Service<threadline::v1::RegisterCustomerRequest>("SalesService")},
      {"installation", Service<threadline::v1::ProposeAppointmentRequest>("InstallationService")},
      {"support", Service<threadline::v1::OpenTicketRequest>("SupportService")},
      {"billing", Service<threadline::v1::IssueInvoiceRequest>("BillingService")},
  };
  for (const auto& [name, service] : departments) {
    auto* dept = app.add_subcommand(name, std::string(name) + " operations");
    dept->require_subcommand(1);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      auto op = std::make_unique<OperationCommand>();
      op->method = method;
      auto* sub = dept->add_subcommand(Kebab(method->name()), method->name());
      const auto* input = method->input_type();
      for (int f = 0; f < input->field_count(); ++f) {
        const auto* field = input->field(f);
        auto* opt = sub->add_option("--" + FlagName(field), op->values[field],
                                    field->is_repeated() ? "repeatable" : "");
        if (!field->is_repeated()) opt->expected(1);
      }
      sub->add_option("--request-json", op->json, "the whole request as JSON");
      op_of[sub] = op.get();
      ops.push_back(std::move(op));
    }
  }

  CLI11_PARSE(app, argc, argv);
  Renderer render(color);
  auto channel = conn.Channel();

  if (show->parsed()) {
    auto stub = threadline::v1::JourneyService::NewStub(channel);
    threadline::v1::GetTimelineRequest r;
    r.set_customer_id(customer);
    r.set_page_size(500);
    std::vector<threadline::v1::TimelineEntry> entries;
    while (true) {
      threadline::v1::GetTimelineResponse resp;
      auto s = stub->GetTimeline(conn.Context().get(), r, &resp);
      if (!s.ok()) return Fail(s);
      entries.insert(entries.end(), resp.entries().begin(), resp.entries().end());
      if (resp.next_page_token().empty()) break;
      r.set_page_token(resp.next_page_token());
    }
    if (static_cast<int>(entries.size()) > limit) {
      entries.erase(entries.begin(), entries.end() - limit);
    }
    std::cout << (conn.json ? render.TimelineJson(entries) : render.Timeline(entries));
    return 0;
  }
  if (follow->parsed()) {
    auto stub = threadline::v1::JourneyService::NewStub(channel);
    threadline::v1::SubscribeJourneyRequest r;
    for (const auto& c : follow_customers) r.add_customer_ids(c);
    r.set_resume_token(resume);
    auto ctx = conn.Context(/*streaming=*/true);
    auto reader = stub->SubscribeJourney(ctx.get(), r);
    threadline::v1::JourneyUpdate u;
    while (reader->Read(&u)) {
      std::cout << (conn.json ? render.UpdateJson(u) : render.Update(u)) << std::flush;
    }
    return Fail(reader->Finish());
  }
  if (context->parsed()) {
    auto stub = threadline::v1::JourneyService::NewStub(channel);
    threadline::v1::GetCustomerContextRequest r;
    r.set_customer_id(customer);
    threadline::v1::CustomerContext card;
    auto s = stub->GetCustomerContext(conn.Context().get(), r, &card);
    if (!s.ok()) return Fail(s);
    std::cout << (conn.json ? render.Json(card) : render.Card(card));
    return 0;
  }
  if (find->parsed()) {
    auto stub = threadline::v1::JourneyService::NewStub(channel);
    threadline::v1::FindCustomerRequest r;
    r.set_query(query);
    threadline::v1::FindCustomerResponse resp;
    auto s = stub->FindCustomer(conn.Context().get(), r, &resp);
    if (!s.ok()) return Fail(s);
    if (conn.json) {
      std::cout << render.Json(resp);
    } else {
      for (const auto& m : resp.matches()) {
        std::cout << m.customer_id() << "  " << m.name() << "  (" << m.matched_on() << ")\n";
      }
      if (resp.matches().empty()) std::cout << "no customer found\n";
    }
    return 0;
  }
  for (auto& [sub, op] : op_of) {
    if (!sub->parsed()) continue;
    const pb::Message* prototype =
        pb::MessageFactory::generated_factory()->GetPrototype(op->method->input_type());
    std::unique_ptr<pb::Message> req(prototype->New());
    if (!op->json.empty()) {
      auto s = pb::util::JsonStringToMessage(op->json, req.get());
      if (!s.ok()) {
        std::cerr << "threadctl: --request-json: " << s.message() << "\n";
        return 2;
      }
    }
    for (const auto& [field, values] : op->values) {
      for (const auto& v : values) {
        std::string error;
        if (!SetField(*req, field, v, error)) {
          std::cerr << "threadctl: " << error << "\n";
          return 2;
        }
      }
    }
    const auto* rid = req->GetDescriptor()->FindFieldByName("request_id");
    if (rid != nullptr && req->GetReflection()->GetString(*req, rid).empty()) {
      req->GetReflection()->SetString(req.get(), rid, threadline::NewUuidV7());
    }
    return CallUnary(conn, op->method, *req);
  }
  return 0;
}
