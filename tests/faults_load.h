#pragma once

// The client side of the fault test (tests/faults_kafkatest.cc): a steady,
// bounded load of commands across sales, installation, support and billing,
// one paced thread per department, that retries a command with the same
// request_id when its service is gone (or, now and then, abandons it) and
// records what every command came to.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "suite_process.h"
#include "threadline/domain/domain.h"

namespace threadline::testing::faults {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline const std::vector<std::string> kDepartments = {"sales", "installation", "support",
                                                      "billing"};

// A channel that reconnects within half a second once a restarted process
// listens again (gRPC's default backoff grows to two minutes).
inline std::shared_ptr<grpc::Channel> FastChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// One department process and the load's own channel to it. Only the test's
// main thread touches `process`; the load threads use `channel`.
struct Dept {
  std::string name;
  std::unique_ptr<SuiteProcess> process;
  std::shared_ptr<grpc::Channel> channel;
  std::atomic<int> acked{0};
  std::atomic<int> transient{0};  // attempts that found the service gone

  // Calls in flight, so that the test can SIGKILL the process while it is
  // handling a command (the client then cannot know whether it applied).
  void Begin() {
    std::lock_guard lock(mu);
    ++in_flight;
    cv.notify_all();
  }
  void End() {
    std::lock_guard lock(mu);
    --in_flight;
  }
  // Sends `sig` to the process as soon as a command is in flight (or at
  // the deadline). Returns whether one was.
  bool KillMidCommand(int sig, std::chrono::milliseconds within) {
    std::unique_lock lock(mu);
    const bool caught = cv.wait_for(lock, within, [&] { return in_flight > 0; });
    process->Kill(sig);
    return caught;
  }
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;  // guarded by mu
};

enum class Fate { kAcked, kRejected, kAbandoned };

inline const char* FateName(Fate f) {
  switch (f) {
    case Fate::kAcked:
      return "acknowledged";
    case Fate::kRejected:
      return "rejected";
    case Fate::kAbandoned:
      return "abandoned";
  }
  return "?";
}

// What one command came to.
struct Command {
  std::string service;     // "sales"
  std::string kind;        // "RegisterCustomer"
  std::string request_id;  // the events' causation_id
  std::string customer;    // whose timeline must show it
  // The customer its events carry: `customer`, or empty for a missed call
  // from a number support did not know yet (the call then joins the
  // customer's timeline as MissedCallLinked, keyed by `callback_id`).
  std::string event_customer;
  std::string callback_id;
  std::string order_id;  // PlaceOrder
  Fate fate = Fate::kAbandoned;
  grpc::StatusCode code = grpc::StatusCode::OK;  // the last error seen
  std::string error;
  std::vector<std::string> event_ids;  // from the ack
  int attempts = 0;
  bool interrupted = false;    // an attempt failed because the service was gone
  bool replayed = false;       // the ack was a replay of an earlier attempt
  bool during_outage = false;  // acknowledged while the broker was down
  bool meant_invalid = false;  // sent to be rejected
  // Sends the same request again (same request_id); fills the ack.
  std::function<grpc::Status(v1::CommandAck*)> replay;
};

struct Bounds {
  int commands = 3000;  // at most this many commands
  int seconds = 150;    // for at most this long
  int rate = 24;        // commands per second over all departments
};

// What a test says when the load ended before its faults did.
inline constexpr const char* kBoundsHint =
    "the load ended (or stalled) before the fault schedule did; raise "
    "THREADLINE_FAULTS_COMMANDS / THREADLINE_FAULTS_SECONDS";

template <typename Svc, typename Req, typename Resp>
using Rpc = grpc::Status (Svc::Stub::*)(grpc::ClientContext*, const Req&, Resp*);

template <typename Svc, typename Req, typename Resp>
grpc::Status Send(const std::shared_ptr<grpc::Channel>& channel, Rpc<Svc, Req, Resp> rpc,
                  const Req& req, Resp* resp, std::chrono::milliseconds deadline) {
  auto stub = Svc::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  return (stub.get()->*rpc)(&ctx, req, resp);
}

// The process behind the channel is gone (killed, restarting) or did not
// answer in time: the same request_id may be sent again.
inline bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

class Load {
 public:
  Load(const Bounds& bounds, std::map<std::string, Dept*> depts)
      : bounds_(bounds), depts_(std::move(depts)) {}
  ~Load() { Stop(); }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void Start() {
    started_ = Steady::now();
    threads_.emplace_back([this] { Run(&Load::SalesStep, "sales", 0.35); });
    threads_.emplace_back([this] { Run(&Load::SupportStep, "support", 0.25); });
    threads_.emplace_back([this] { Run(&Load::InstallationStep, "installation", 0.2); });
    threads_.emplace_back([this] { Run(&Load::BillingStep, "billing", 0.2); });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  // True once a thread ended by the load's own bounds (count or time).
  bool Ended() const { return ended_.load(); }
  // Waits until `more` commands were acknowledged after the call: false if
  // the load ended (or `within` passed) first.
  bool Flowing(int more, std::chrono::seconds within = std::chrono::seconds(120)) const {
    const int base = Acked();
    return WaitFor([&] { return Acked() >= base + more || Ended(); }, within) && !Ended();
  }
  int Acked() const { return acked_.load(); }
  int Issued() const { return issued_.load(); }
  void SetOutage(bool down) { outage_ = down; }

  std::vector<Command> Commands() const {
    std::lock_guard lock(mu_);
    return commands_;
  }

 private:
  using Step = void (Load::*)(Dept&, int, std::mt19937&);

  // One department's thread: a step per tick, `share` of the rate. The
  // ticks pace the load (a steady rate); they wait for no condition.
  void Run(Step step, const std::string& dept, double share) {
    Dept& d = *depts_.at(dept);
    std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>()(dept)));
    const auto interval =
        std::chrono::microseconds(static_cast<int64_t>(1e6 / std::max(1.0, bounds_.rate * share)));
    auto next = Steady::now();
    for (int i = 0;; ++i) {
      next += interval;
      const auto now = Steady::now();
      if (next < now - interval) next = now;  // no burst after a long call
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, next, [&] { return stop_; });
        if (stop_) return;
      }
      if (Steady::now() - started_ >= std::chrono::seconds(bounds_.seconds) ||
          issued_.load() >= bounds_.commands) {
        ended_ = true;
        return;
      }
      (this->*step)(d, i, rng);
    }
  }

  std::string NewRequestId(const std::string& kind) {
    return "faults-" + kind + "-" + std::to_string(next_request_++);
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  // Sends `req` until it gets an answer that is not "service gone", retrying
  // with the same request_id; the first time a command finds its service
  // gone, one in three is abandoned instead (the client gives up: the
  // command may or may not have been applied). Records the command.
  template <typename Svc, typename Req, typename Resp>
  bool Issue(
      Dept& d, Rpc<Svc, Req, Resp> rpc, const Req& req, Command c,
      const std::type_identity_t<std::function<void(Command&, const Resp&)>>& on_ack = nullptr) {
    ++issued_;
    c.service = d.name;
    c.request_id = req.request_id();
    if (c.event_customer.empty()) c.event_customer = c.customer;
    const auto give_up = Steady::now() + 90s;
    Resp resp;
    while (true) {
      ++c.attempts;
      resp.Clear();
      d.Begin();
      grpc::Status s = Send<Svc>(d.channel, rpc, req, &resp, 5s);
      d.End();
      if (s.ok()) {
        c.fate = Fate::kAcked;
        c.event_ids.assign(resp.ack().event_ids().begin(), resp.ack().event_ids().end());
        c.replayed = resp.ack().replayed();
        c.during_outage = outage_.load();
        if (on_ack) on_ack(c, resp);
        ++d.acked;
        ++acked_;
        break;
      }
      c.code = s.error_code();
      c.error = s.error_message();
      if (!Transient(c.code)) {
        c.fate = Fate::kRejected;
        break;
      }
      ++d.transient;
      bool abandon = false;
      if (!c.interrupted) {
        c.interrupted = true;
        abandon = interrupted_++ % 3 == 2;
      }
      if (abandon || Stopping() || Steady::now() >= give_up) {
        c.fate = Fate::kAbandoned;
        break;
      }
      // Until the restarted process listens again (or a second passed).
      d.channel->WaitForConnected(std::chrono::system_clock::now() + 1s);
    }
    std::shared_ptr<grpc::Channel> channel = d.channel;
    c.replay = [channel, rpc, req](v1::CommandAck* ack) {
      Resp r;
      grpc::Status s = Send<Svc>(channel, rpc, req, &r, 10s);
      if (s.ok()) *ack = r.ack();
      return s;
    };
    const bool acked = c.fate == Fate::kAcked;
    std::lock_guard lock(mu_);
    commands_.push_back(std::move(c));
    return acked;
  }

  struct Customer {
    std::string id;
    std::string phone;
  };
  struct Order {
    std::string customer;
    std::string order_id;
    bool work_order_known = false;
    bool account_known = false;
  };
  struct WorkOrder {
    std::string id;
    std::string customer;
    std::vector<std::string> items;
    int steps = 0;
    bool closed = false;
  };

  std::optional<Customer> RandomCustomer(std::mt19937& rng) {
    std::lock_guard lock(mu_);
    if (customers_.empty()) return std::nullopt;
    return customers_[std::uniform_int_distribution<size_t>(0, customers_.size() - 1)(rng)];
  }

  // --- sales: RegisterCustomer, PlaceOrder, LogContact ----------------------
  void SalesStep(Dept& d, int i, std::mt19937& rng) {
    std::optional<Customer> newest;
    {
      std::lock_guard lock(mu_);
      if (!customers_.empty()) newest = customers_.back();
    }
    if (!newest || i % 4 == 0) {
      Register(d);
    } else if (i % 4 == 1) {
      PlaceOrder(d, *newest, /*valid=*/i % 40 != 9);
    } else if (auto any = RandomCustomer(rng)) {
      LogContact(d, *any, i);
    }
  }

  void Register(Dept& d) {
    const int n = next_customer_++;
    char phone[32];
    std::snprintf(phone, sizeof phone, "+3162%07d", n);
    v1::RegisterCustomerRequest r;
    r.set_request_id(NewRequestId("register"));
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_name("Fault Customer " + std::to_string(n));
    r.add_phone_numbers(phone);
    r.set_preferred_channel(v1::CHANNEL_SMS);
    Command c;
    c.kind = "RegisterCustomer";
    const std::string number = phone;
    Issue<v1::SalesService>(d, &v1::SalesService::Stub::RegisterCustomer, r, std::move(c),
                            [&](Command& cmd, const v1::RegisterCustomerResponse& resp) {
                              cmd.customer = cmd.event_customer = resp.customer_id();
                              std::lock_guard lock(mu_);
                              customers_.push_back({resp.customer_id(), number});
                            });
  }

  // Two items, both for the installer; an invalid order (no installation
  // window) is sent now and then, to be rejected.
  void PlaceOrder(Dept& d, const Customer& customer, bool valid) {
    v1::PlaceOrderRequest r;
    r.set_request_id(NewRequestId(valid ? "order" : "bad-order"));
    r.set_channel(v1::CHANNEL_PHONE);
    r.set_customer_id(customer.id);
    auto* line = r.add_items();
    line->set_sku("LINE-FTTH");
    line->set_description("Fibre line");
    *line->mutable_one_off_price() = Eur(4900);
    *line->mutable_monthly_price() = Eur(2500);
    line->set_needs_installation(true);
    auto* broadband = r.add_items();
    broadband->set_sku("BB-1000");
    broadband->set_description("Broadband 1000");
    *broadband->mutable_one_off_price() = Eur(0);
    *broadband->mutable_monthly_price() = Eur(3000);
    broadband->set_needs_installation(true);
    if (valid) {
      *r.mutable_requested_installation()->mutable_start() = FromNow(std::chrono::hours(24));
      *r.mutable_requested_installation()->mutable_end() = FromNow(std::chrono::hours(72));
    }
    Command c;
    c.kind = "PlaceOrder";
    c.customer = customer.id;
    c.meant_invalid = !valid;
    Issue<v1::SalesService>(d, &v1::SalesService::Stub::PlaceOrder, r, std::move(c),
                            [&](Command& cmd, const v1::PlaceOrderResponse& resp) {
                              cmd.order_id = resp.order_id();
                              std::lock_guard lock(mu_);
                              orders_.push_back({customer.id, resp.order_id()});
                            });
  }

  void LogContact(Dept& d, const Customer& customer, int i) {
    v1::LogContactRequest r;
    r.set_request_id(NewRequestId("contact"));
    r.set_channel(i % 3 == 0 ? v1::CHANNEL_EMAIL : v1::CHANNEL_CHAT);
    r.set_customer_id(customer.id);
    r.set_direction(v1::CONTACT_DIRECTION_INBOUND);
    r.set_outcome("asked about the installation date");
    Command c;
    c.kind = "LogContact";
    c.customer = customer.id;
    Issue<v1::SalesService>(d, &v1::SalesService::Stub::LogContact, r, std::move(c));
  }

  // --- support: RecordMissedCall, OpenTicket ----------------------------------
  void SupportStep(Dept& d, int i, std::mt19937& rng) {
    auto customer = RandomCustomer(rng);
    if (!customer) return;
    if (i % 2 == 0) {
      v1::RecordMissedCallRequest r;
      r.set_request_id(NewRequestId("missed-call"));
      r.set_channel(v1::CHANNEL_PHONE);
      r.set_caller_number(customer->phone);
      r.set_line("support");
      Command c;
      c.kind = "RecordMissedCall";
      c.customer = customer->id;
      Issue<v1::SupportService>(d, &v1::SupportService::Stub::RecordMissedCall, r, std::move(c),
                                [](Command& cmd, const v1::RecordMissedCallResponse& resp) {
                                  cmd.event_customer = resp.customer_id();
                                  cmd.callback_id = resp.callback_id();
                                });
    } else {
      v1::OpenTicketRequest r;
      r.set_request_id(NewRequestId("ticket"));
      r.set_channel(v1::CHANNEL_APP);
      r.set_customer_id(customer->id);
      r.set_category(v1::TICKET_CATEGORY_QUESTION);
      r.set_subject("When does the installer come?");
      r.set_priority(v1::TICKET_PRIORITY_NORMAL);
      Command c;
      c.kind = "OpenTicket";
      c.customer = customer->id;
      Issue<v1::SupportService>(d, &v1::SupportService::Stub::OpenTicket, r, std::move(c));
    }
  }

  // --- installation: on the work orders its reaction created -----------------
  // Looks up a few acknowledged orders' work orders (queries, not commands).
  void DiscoverWorkOrders(Dept& d) {
    std::vector<std::string> wanted;
    {
      std::lock_guard lock(mu_);
      for (auto& o : orders_) {
        if (!o.work_order_known) wanted.push_back(o.order_id);
        if (wanted.size() == 2) break;
      }
    }
    for (const auto& order_id : wanted) {
      v1::ListWorkOrdersRequest r;
      r.set_order_id(order_id);
      v1::ListWorkOrdersResponse resp;
      auto s = Send<v1::InstallationService>(
          d.channel, &v1::InstallationService::Stub::ListWorkOrders, r, &resp, 2s);
      if (!s.ok() || resp.work_orders_size() == 0) continue;
      std::lock_guard lock(mu_);
      for (auto& o : orders_) {
        if (o.order_id == order_id) o.work_order_known = true;
      }
      for (const auto& wo : resp.work_orders()) {
        WorkOrder w;
        w.id = wo.work_order_id();
        w.customer = wo.customer_id();
        for (const auto& item : wo.scope()) w.items.push_back(item.item_id());
        work_orders_.push_back(std::move(w));
      }
    }
  }

  // Per work order: assign a technician, propose a slot, then complete
  // every other one (all delivered) and keep re-assigning the rest.
  void InstallationStep(Dept& d, int i, std::mt19937& rng) {
    DiscoverWorkOrders(d);
    WorkOrder wo;
    {
      std::lock_guard lock(mu_);
      // Work orders that have not had their three commands first; then
      // any open one (re-assignments).
      std::vector<size_t> fresh, open;
      for (size_t k = 0; k < work_orders_.size(); ++k) {
        if (work_orders_[k].closed) continue;
        open.push_back(k);
        if (work_orders_[k].steps < 3) fresh.push_back(k);
      }
      const std::vector<size_t>& from = fresh.empty() ? open : fresh;
      if (from.empty()) return;
      const size_t pick = from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
      WorkOrder& w = work_orders_[pick];
      const bool complete = w.steps >= 2 && pick % 2 == 0;
      if (complete) w.closed = true;  // whatever the answer: it may be applied
      ++w.steps;
      wo = w;
      wo.steps = complete ? -1 : w.steps - 1;
    }
    Command c;
    c.customer = wo.customer;
    if (wo.steps == -1) {
      v1::CompleteInstallationRequest r;
      r.set_request_id(NewRequestId("complete"));
      r.set_channel(v1::CHANNEL_FIELD);
      r.set_work_order_id(wo.id);
      for (const auto& item : wo.items) {
        auto* done = r.add_delivered();
        done->set_item_id(item);
        done->set_note("connected and configured");
      }
      c.kind = "CompleteInstallation";
      Issue<v1::InstallationService>(d, &v1::InstallationService::Stub::CompleteInstallation, r,
                                     std::move(c));
    } else if (wo.steps == 1) {
      v1::ProposeAppointmentRequest r;
      r.set_request_id(NewRequestId("propose"));
      r.set_channel(v1::CHANNEL_SMS);
      r.set_work_order_id(wo.id);
      *r.mutable_slot()->mutable_start() = FromNow(std::chrono::hours(48));
      *r.mutable_slot()->mutable_end() = FromNow(std::chrono::hours(50));
      c.kind = "ProposeAppointment";
      Issue<v1::InstallationService>(d, &v1::InstallationService::Stub::ProposeAppointment, r,
                                     std::move(c));
    } else {
      v1::AssignTechnicianRequest r;
      r.set_request_id(NewRequestId("assign"));
      r.set_channel(v1::CHANNEL_SYSTEM);
      r.set_work_order_id(wo.id);
      r.set_technician_id("tech-" + std::to_string(i % 7));
      r.set_technician_name("Technician " + std::to_string(i % 7));
      c.kind = "AssignTechnician";
      Issue<v1::InstallationService>(d, &v1::InstallationService::Stub::AssignTechnician, r,
                                     std::move(c));
    }
  }

  // --- billing: on the accounts its reaction opened -----------------------
  void DiscoverAccounts(Dept& d) {
    std::vector<std::string> wanted;
    {
      std::lock_guard lock(mu_);
      for (auto& o : orders_) {
        if (!o.account_known) wanted.push_back(o.customer);
        if (wanted.size() == 2) break;
      }
    }
    for (const auto& customer : wanted) {
      v1::GetAccountRequest r;
      r.set_customer_id(customer);
      v1::Account account;
      auto s = Send<v1::BillingService>(d.channel, &v1::BillingService::Stub::GetAccount, r,
                                        &account, 2s);
      if (!s.ok()) continue;
      std::lock_guard lock(mu_);
      for (auto& o : orders_) {
        if (o.customer == customer) o.account_known = true;
      }
      accounts_.push_back(customer);
    }
  }

  void BillingStep(Dept& d, int i, std::mt19937& rng) {
    DiscoverAccounts(d);
    std::string customer;
    {
      std::lock_guard lock(mu_);
      if (accounts_.empty()) return;
      customer = accounts_[std::uniform_int_distribution<size_t>(0, accounts_.size() - 1)(rng)];
    }
    Command c;
    c.customer = customer;
    if (i % 2 == 0) {
      v1::RecordPaymentRequest r;
      r.set_request_id(NewRequestId("payment"));
      r.set_channel(v1::CHANNEL_WEB);
      r.set_customer_id(customer);
      *r.mutable_amount() = Eur(1000 + i);
      r.set_method("card");
      c.kind = "RecordPayment";
      Issue<v1::BillingService>(d, &v1::BillingService::Stub::RecordPayment, r, std::move(c));
    } else {
      v1::GrantCreditRequest r;
      r.set_request_id(NewRequestId("credit"));
      r.set_channel(v1::CHANNEL_PHONE);
      r.set_customer_id(customer);
      *r.mutable_amount() = Eur(500);
      r.set_reason("goodwill for the late installation");
      c.kind = "GrantCredit";
      Issue<v1::BillingService>(d, &v1::BillingService::Stub::GrantCredit, r, std::move(c));
    }
  }

  const Bounds bounds_;
  const std::map<std::string, Dept*> depts_;
  Steady::time_point started_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::atomic<bool> ended_{false};
  std::atomic<bool> outage_{false};
  std::atomic<int> issued_{0};
  std::atomic<int> acked_{0};
  std::atomic<int> interrupted_{0};
  std::atomic<int> next_request_{0};
  std::atomic<int> next_customer_{0};
  // Guarded by mu_:
  std::vector<Command> commands_;
  std::vector<Customer> customers_;
  std::vector<Order> orders_;
  std::vector<WorkOrder> work_orders_;
  std::vector<std::string> accounts_;
};

}  // namespace threadline::testing::faults
