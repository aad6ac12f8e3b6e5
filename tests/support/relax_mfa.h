#pragma once
// Tests of other controls sign in with a password alone: MFA has its own tests (mfa_test.cc, auth_test.cc).

#include <gtest/gtest.h>

#include "security/auth_service.h"

namespace panorama::testing {

inline void RelaxMfaForAllRoles(security::AuthService& auth) {
  for (const char* role : security::kRoles) {
    ASSERT_TRUE(auth.SetRoleMfaRequired(role, false, "test").has_value()) << role;
  }
}

}  // namespace panorama::testing
