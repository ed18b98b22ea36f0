#pragma once

// Helpers shared by the security tests (label `security`): a tokens file,
// untyped and raw calls by full method name, and checksums of every
// department's event store under a stopped suite's --data-dir.

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "suite_process.h"

namespace threadline::testing {

// Writes a tokens file ("TOKEN PRINCIPAL ROLE" per line) with mode 600.
void WriteTokensFile(const std::filesystem::path& path,
                     const std::vector<std::pair<std::string, std::string>>& token_roles);

// Calls `method` ("/threadline.v1.SalesService/RegisterCustomer") with
// `request`; the response type comes from the method's descriptor.
// Server-streaming methods read until the first message or the end.
grpc::Status CallMethod(grpc::Channel* channel, const std::string& method,
                        const google::protobuf::Message& request, const std::string& token,
                        std::chrono::milliseconds deadline = std::chrono::seconds(10));

// The same with `bytes` as the request body, whatever they are.
grpc::Status CallRaw(grpc::Channel* channel, const std::string& method, const std::string& bytes,
                     const std::string& token,
                     std::chrono::milliseconds deadline = std::chrono::seconds(10));

// The method's descriptor from its full gRPC name, or null.
const google::protobuf::MethodDescriptor* FindMethod(const std::string& method);

// Every method of the five Threadline services, "/pkg.Service/Method".
std::vector<std::string> AllThreadlineMethods();

// eventstore::EventStore::Checksum() of each department's store
// (sales, installation, support, billing) under `data_dir`. The suite must
// be stopped: RocksDB allows one process per store.
std::map<std::string, uint64_t> StoreChecksums(const std::filesystem::path& data_dir);

// Sends SIGTERM and waits for a clean exit (status 0).
void StopSuite(SuiteProcess& suite);

}  // namespace threadline::testing
