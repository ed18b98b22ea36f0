#pragma once

// A tiny BillingService for the server tests: GetAccount goes through
// server::Handle and reports who called; customer "missing" yields NOT_FOUND
// and customer "throw" throws.

#include <stdexcept>
#include <string>

#include "threadline/server/handler.h"
#include "threadline/v1/billing.grpc.pb.h"

namespace threadline::server::testing {

class TestBillingService final : public v1::BillingService::Service {
 public:
  grpc::Status GetAccount(grpc::ServerContext* ctx, const v1::GetAccountRequest* request,
                          v1::Account* out) override {
    return Handle(ctx, TL_GRPC_METHOD(BillingService, GetAccount),
                  [&](const Principal& who) -> absl::Status {
                    if (request->customer_id() == "missing") {
                      return absl::NotFoundError("no account for customer 'missing'");
                    }
                    if (request->customer_id() == "throw") throw std::runtime_error("boom");
                    out->set_customer_id(who.name + "/" + std::string(RoleName(who.role)));
                    return absl::OkStatus();
                  });
  }
};

}  // namespace threadline::server::testing
