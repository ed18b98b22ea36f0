#include "threadline/command/grpc.h"

#include "threadline/domain/validate.h"

namespace threadline::command {

Invocation InvocationOf(const grpc::ServerContext& ctx, const server::Principal& principal) {
  Invocation inv;
  inv.actor.set_principal(principal.name);
  inv.actor.set_role(std::string(server::RoleName(principal.role)));
  const auto& md = ctx.client_metadata();
  if (auto it = md.find("x-correlation-id"); it != md.end()) {
    std::string id(it->second.data(), it->second.size());
    // Only a sane id is carried onto stored events.
    if (domain::ValidateRequestId(id).ok()) inv.correlation_id = std::move(id);
  }
  return inv;
}

}  // namespace threadline::command
