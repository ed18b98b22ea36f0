#pragma once

// The process's one running GrpcServer, as seen by server::Handle().

#include "threadline/server/handler.h"

namespace threadline::server {

// The CallHandler of the GrpcServer running in this process, or null.
const CallHandler* ActiveHandler();

// Makes `handler` the active one; false if another is active.
bool ClaimActiveHandler(const CallHandler* handler);

// Clears the slot if `handler` holds it. Only once no call can still be
// running against it (after grpc::Server::Wait).
void ReleaseActiveHandler(const CallHandler* handler);

}  // namespace threadline::server
