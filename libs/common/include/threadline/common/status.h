#pragma once

// The project's only status macros (Debian's Abseil ships none).

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TL_CONCAT_INNER_(a, b) a##b
#define TL_CONCAT_(a, b) TL_CONCAT_INNER_(a, b)

// Returns from the current function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    if (::absl::Status tl_status_ = (expr); !tl_status_.ok()) { \
      return tl_status_;                               \
    }                                                  \
  } while (0)

// ASSIGN_OR_RETURN(auto x, StatusOrExpr()): binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  TL_ASSIGN_OR_RETURN_IMPL_(TL_CONCAT_(tl_statusor_, __LINE__), lhs, rexpr)

#define TL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) {                                 \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = std::move(statusor).value()
