#!/usr/bin/env python3
"""Cohort retention reference for analytics/behaviour (docs/segments.md "Cohorts"), written the usual pandas way.

Usage: cohorts_reference.py ORDERS.csv[.xz]  (columns InvoiceDate, CustomerID; '#' lines are comments)
Prints one line per cohort: "YYYY-MM size active0 active1 ..." up to the last month of data.
"""
import sys

import pandas as pd

orders = pd.read_csv(sys.argv[1], comment="#", parse_dates=["InvoiceDate"])
orders["order_month"] = orders["InvoiceDate"].dt.to_period("M")
orders["cohort"] = orders.groupby("CustomerID")["order_month"].transform("min")
orders["period"] = (orders["order_month"] - orders["cohort"]).apply(lambda offset: offset.n)
counts = orders.groupby(["cohort", "period"])["CustomerID"].nunique().reset_index()
matrix = counts.pivot(index="cohort", columns="period", values="CustomerID").fillna(0).astype(int)
last_month = orders["order_month"].max()
for cohort, row in matrix.iterrows():
    length = (last_month - cohort).n + 1
    cells = [int(row.get(k, 0)) for k in range(length)]
    print(cohort.strftime("%Y-%m"), cells[0], " ".join(str(c) for c in cells))
