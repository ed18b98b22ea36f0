#pragma once

// The roles a caller acts in, defined once, spelled as in tokens files and
// on recorded events (v1::Actor.role). libs/server maps them to server::Role
// and decides what each may call; domain rules that depend on the role (the
// billing credit limits) name them through these constants.

namespace threadline::domain {

inline constexpr char kRoleSales[] = "sales";
inline constexpr char kRoleInstallation[] = "installation";
inline constexpr char kRoleSupport[] = "support";
inline constexpr char kRoleBilling[] = "billing";
inline constexpr char kRoleSupervisor[] = "supervisor";
inline constexpr char kRoleDashboard[] = "dashboard";
// A data-protection officer: exports and erases customers' data.
inline constexpr char kRolePrivacy[] = "privacy";
inline constexpr char kRoleAdmin[] = "admin";
// A process of the deployment calling another: fetches data keys from the
// key vault, and the journey's export for the privacy service. Given to
// machines, never to people.
inline constexpr char kRoleService[] = "service";

}  // namespace threadline::domain
