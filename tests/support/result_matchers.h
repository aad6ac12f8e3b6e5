#pragma once
// Assert the specific failure, not only "it failed" (STYLE.md §7).

#include <gtest/gtest.h>

#include "core/result.h"

#define ASSERT_OK(expr)                                                                  \
  do {                                                                                   \
    const auto& panorama_r_ = (expr);                                                    \
    ASSERT_TRUE(panorama_r_.has_value()) << "error: " << panorama_r_.error().message();  \
  } while (false)

#define EXPECT_OK(expr)                                                                  \
  do {                                                                                   \
    const auto& panorama_r_ = (expr);                                                    \
    EXPECT_TRUE(panorama_r_.has_value()) << "error: " << panorama_r_.error().message();  \
  } while (false)

#define EXPECT_ERROR_CODE(expr, expected_code)                                                    \
  do {                                                                                            \
    const auto& panorama_r_ = (expr);                                                             \
    ASSERT_FALSE(panorama_r_.has_value()) << "expected " << ::panorama::ErrorCodeName(expected_code); \
    EXPECT_EQ(panorama_r_.error().code(), expected_code)                                          \
        << "got " << ::panorama::ErrorCodeName(panorama_r_.error().code()) << ": "                \
        << panorama_r_.error().message();                                                         \
  } while (false)

// The error names `field` among its violations.
#define EXPECT_FIELD_ERROR(expr, field_name)                                         \
  do {                                                                               \
    const auto& panorama_r_ = (expr);                                                \
    ASSERT_FALSE(panorama_r_.has_value());                                           \
    bool panorama_found_ = false;                                                    \
    for (const auto& v : panorama_r_.error().violations()) {                         \
      if (v.field == (field_name)) panorama_found_ = true;                           \
    }                                                                                \
    EXPECT_TRUE(panorama_found_) << "no violation for " << (field_name) << " in: "   \
                                 << panorama_r_.error().message();                   \
  } while (false)
