#!/usr/bin/env python3
"""Reference RFM with pandas, for analytics/rfm_reference_test.cc (docs/segments.md "RFM").

Usage: rfm_reference.py orders.csv AS_OF out.csv
orders.csv: order_id, customer_external_id, placed_at (ISO UTC), currency, total (decimal major units).
Writes one row per customer: external_id, recency_days, frequency, monetary_minor, r, f, m, segment.

Same definition as the C++ code, written the usual pandas way: groupby, rank(method="first") over
customers in ascending customer order (the importer creates customers in the file's customer order, so
that is the customer id order), qcut into 5, recency reversed (recent = 5), and the default score map
(first matching rule wins).
"""
import sys

import pandas as pd

SCORE_MAP = [  # segment, r, f, m ranges (inclusive)
    ("Champions", (4, 5), (4, 5), (4, 5)),
    ("Loyal", (3, 5), (3, 5), (3, 5)),
    ("Potential Loyalist", (4, 5), (2, 5), (1, 5)),
    ("New", (5, 5), (1, 1), (1, 5)),
    ("Promising", (4, 4), (1, 1), (1, 5)),
    ("Need Attention", (3, 3), (2, 5), (1, 5)),
    ("About to Sleep", (2, 3), (1, 2), (1, 5)),
    ("Can't Lose", (1, 2), (4, 5), (4, 5)),
    ("At Risk", (1, 2), (3, 5), (1, 5)),
    ("Hibernating", (1, 1), (2, 2), (1, 5)),
    ("Lost", (1, 1), (1, 1), (1, 5)),
]
DEFAULT_SEGMENT = "Lost"


def to_minor(text):
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def segment(r, f, m):
    for name, rr, fr, mr in SCORE_MAP:
        if rr[0] <= r <= rr[1] and fr[0] <= f <= fr[1] and mr[0] <= m <= mr[1]:
            return name
    return DEFAULT_SEGMENT


def main(orders_path, as_of, out_path):
    orders = pd.read_csv(orders_path, dtype={"order_id": str, "customer_external_id": str, "total": str})
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], utc=True)
    orders["minor"] = orders["total"].map(to_minor)
    # Customers in order of first appearance in the file = the order the importer creates them in.
    first_seen = {c: i for i, c in enumerate(dict.fromkeys(orders["customer_external_id"]))}
    rfm = orders.groupby("customer_external_id").agg(
        last=("placed_at", "max"), frequency=("order_id", "count"), monetary_minor=("minor", "sum"))
    rfm["id_order"] = rfm.index.map(first_seen)
    rfm = rfm.sort_values("id_order")
    now = pd.Timestamp(as_of)
    rfm["recency_days"] = (now - rfm["last"]).dt.days.clip(lower=0)
    labels = [1, 2, 3, 4, 5]
    rfm["r"] = 6 - pd.qcut(rfm["recency_days"].rank(method="first"), 5, labels=labels).astype(int)
    rfm["f"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=labels).astype(int)
    rfm["m"] = pd.qcut(rfm["monetary_minor"].rank(method="first"), 5, labels=labels).astype(int)
    rfm["segment"] = [segment(r, f, m) for r, f, m in zip(rfm["r"], rfm["f"], rfm["m"])]
    rfm.index.name = "external_id"
    rfm[["recency_days", "frequency", "monetary_minor", "r", "f", "m", "segment"]].to_csv(out_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
