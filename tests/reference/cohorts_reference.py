#!/usr/bin/env python3
"""Cohort retention reference for analytics/behaviour (docs/segments.md "Cohorts"), written the usual pandas way.

Usage: cohorts_reference.py ORDERS.csv[.xz] AS_OF  (columns InvoiceDate, CustomerID; '#' lines are comments;
AS_OF an ISO 8601 UTC time)
Only complete months count: orders from the month holding AS_OF on are dropped, and every cohort runs up to
the month before it. Prints one line per cohort: "YYYY-MM size active0 active1 ...".
"""
import sys

import pandas as pd

orders = pd.read_csv(sys.argv[1], comment="#", parse_dates=["InvoiceDate"])
as_of = pd.Timestamp(sys.argv[2])
if as_of.tzinfo is not None:
    as_of = as_of.tz_convert("UTC").tz_localize(None)
last_month = as_of.to_period("M") - 1
orders["order_month"] = orders["InvoiceDate"].dt.to_period("M")
orders = orders[orders["order_month"] <= last_month].copy()
orders["cohort"] = orders.groupby("CustomerID")["order_month"].transform("min")
orders["period"] = (orders["order_month"] - orders["cohort"]).apply(lambda offset: offset.n)
counts = orders.groupby(["cohort", "period"])["CustomerID"].nunique().reset_index()
matrix = counts.pivot(index="cohort", columns="period", values="CustomerID").fillna(0).astype(int)
for cohort, row in matrix.iterrows():
    length = (last_month - cohort).n + 1
    cells = [int(row.get(k, 0)) for k in range(length)]
    print(cohort.strftime("%Y-%m"), cells[0], " ".join(str(c) for c in cells))
