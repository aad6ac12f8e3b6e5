#include "analytics/behaviour/cohorts.h"

#include <gtest/gtest.h>

namespace panorama::behaviour {
namespace {

Timestamp At(const char* iso) { return *ParseIso8601(iso); }

TEST(CohortBuilder, CountsDistinctActiveCustomersPerMonthAfterTheFirstPurchase) {
  CohortBuilder b;
  b.Add(CustomerId(1), At("2011-01-05"));
  b.Add(CustomerId(1), At("2011-01-20"));  // twice in month 0: counted once
  b.Add(CustomerId(1), At("2011-03-02"));
  b.Add(CustomerId(2), At("2011-01-31T23:59:59Z"));
  b.Add(CustomerId(2), At("2011-02-01"));
  b.Add(CustomerId(3), At("2011-02-10"));

  CohortMatrix m = b.Build({.months = 12});

  ASSERT_EQ(m.cohorts.size(), 2u);
  EXPECT_EQ(FormatMonth(m.cohorts[0].cohort), "2011-01");
  EXPECT_EQ(m.cohorts[0].size, 2);
  EXPECT_EQ(m.cohorts[0].active, (std::vector<int64_t>{2, 1, 1}));
  EXPECT_EQ(m.cohorts[0].retention, (std::vector<double>{1.0, 0.5, 0.5}));
  EXPECT_EQ(m.cohorts[1].active, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(m.months, 3);
}

TEST(CohortBuilder, CohortIsTheFirstPurchaseEvenOutsideTheListedRange) {
  CohortBuilder b;
  b.Add(CustomerId(1), At("2010-12-05"));
  b.Add(CustomerId(1), At("2011-01-05"));
  b.Add(CustomerId(2), At("2011-01-06"));

  CohortMatrix m = b.Build({.from = MonthOf(At("2011-01-01")), .months = 12});

  ASSERT_EQ(m.cohorts.size(), 1u);
  EXPECT_EQ(m.cohorts[0].size, 1);
  EXPECT_EQ(m.cohorts[0].active, (std::vector<int64_t>{1}));
}

TEST(CohortBuilder, RowsStopAfterTheRequestedMonths) {
  CohortBuilder b;
  for (int m = 1; m <= 9; ++m)
    b.Add(CustomerId(1), At(("2011-0" + std::to_string(m) + "-15").c_str()));

  CohortMatrix m = b.Build({.months = 4});

  ASSERT_EQ(m.cohorts.size(), 1u);
  EXPECT_EQ(m.cohorts[0].active, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(m.months, 4);
}

TEST(CohortBuilder, EmptyInputGivesAnEmptyMatrix) {
  CohortBuilder b;

  CohortMatrix m = b.Build({});

  EXPECT_TRUE(m.cohorts.empty());
  EXPECT_EQ(m.months, 0);
}

}  // namespace
}  // namespace panorama::behaviour
