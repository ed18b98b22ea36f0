#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "threadline/command/department.h"
#include "threadline/command/runner.h"
#include "threadline/v1/sales.grpc.pb.h"

namespace threadline::sales {

// Sales' unique claims in its event store: a phone number (E.164) or an
// e-mail (lower case) belongs to one customer.
inline constexpr char kPhoneClaim[] = "phone";
inline constexpr char kEmailClaim[] = "email";

// Sales command logic over an event store; no server wiring. Thread-safe;
// the store must outlive it.
class SalesService {
 public:
  explicit SalesService(command::Env env) : env_(std::move(env)) {}

  absl::StatusOr<v1::RegisterCustomerResponse> RegisterCustomer(
      const command::Invocation& inv, const v1::RegisterCustomerRequest& r);
  absl::StatusOr<v1::PlaceOrderResponse> PlaceOrder(const command::Invocation& inv,
                                                    const v1::PlaceOrderRequest& r);
  absl::StatusOr<v1::CancelOrderResponse> CancelOrder(const command::Invocation& inv,
                                                      const v1::CancelOrderRequest& r);
  absl::StatusOr<v1::SwitchProductResponse> SwitchProduct(const command::Invocation& inv,
                                                          const v1::SwitchProductRequest& r);
  absl::StatusOr<v1::LogContactResponse> LogContact(const command::Invocation& inv,
                                                    const v1::LogContactRequest& r);

 private:
  command::Env env_;
};

// The gRPC face of SalesService: authenticates, authorises, converts.
std::unique_ptr<grpc::Service> NewSalesGrpc(SalesService* service);

// Sales as the suite runs it (sales reacts to no other department).
std::unique_ptr<command::Department> NewSalesDepartment(const command::DepartmentDeps& deps);

}  // namespace threadline::sales
