#pragma once

// The README's demo story, played by the threadline-demo binary against a
// running suite, and what every agent must then see on the card.

#include <sys/wait.h>

#include "slice_test_body.h"

namespace threadline::testing {

// Runs threadline-demo against `address`; returns the customer id it made.
inline std::string PlayDemo(const std::string& address, const std::string& log) {
  ChildProcess demo({BinaryFromEnv("THREADLINE_DEMO_BIN"), "--address", address, "--quiet"},
                    log);
  int status = demo.Wait(std::chrono::seconds(120));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << demo.Log();
  std::string out = demo.Log();
  auto end = out.find_last_not_of("\n");
  if (end == std::string::npos) return "";
  auto start = out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return out.substr(start, end - start + 1);
}

inline bool HasFlag(const v1::CustomerContext& card, const std::string& code) {
  for (const auto& g : card.guidance()) {
    if (g.code() == code) return true;
  }
  return false;
}

// The card after the demo: the story, told by whoever picks up the phone.
inline void ExpectDemoCard(SuiteProcess& journey, const std::string& customer) {
  v1::GetCustomerContextRequest r;
  r.set_customer_id(customer);
  v1::CustomerContext card;
  auto s = journey.Journey()->GetCustomerContext(Ctx().get(), r, &card);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(card.name(), "Anna de Vries");
  ASSERT_EQ(card.commitments_size(), 1);
  EXPECT_EQ(card.commitments(0).state(), v1::COMMITMENT_STATE_BROKEN);
  ASSERT_EQ(card.billing().held_charges_size(), 1);
  EXPECT_NE(card.billing().held_charges(0).reason().find("broadband"), std::string::npos)
      << card.billing().held_charges(0).reason();
  ASSERT_EQ(card.open_tickets_size(), 1);
  EXPECT_EQ(card.open_tickets(0).category(), "complaint");
  EXPECT_TRUE(HasFlag(card, "OPEN_COMPLAINT"));
  EXPECT_TRUE(HasFlag(card, "COMMITMENT_BROKEN"));
  EXPECT_TRUE(HasFlag(card, "INSTALLATION_PENDING"));
  // The missed call from before she was a customer is on her journey.
  auto entries = Timeline(journey, customer);
  EXPECT_TRUE(std::any_of(entries.begin(), entries.end(),
                          [](const auto& e) { return e.kind() == "MissedCallLinked"; }));
  EXPECT_EQ(card.open_callbacks_size(), 1);
}

}  // namespace threadline::testing
