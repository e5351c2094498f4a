"""Writes the small parquet files the FileSources point at (not committed; run.sh calls this)."""

import os
from datetime import datetime, timedelta, timezone

import pandas as pd

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "data"), exist_ok=True)
now = datetime(2024, 1, 2, tzinfo=timezone.utc)
ts = [now - timedelta(hours=h) for h in range(3)]
pd.DataFrame({"user_id": [1, 2, 3], "orders_7d": [3, 0, 7], "spend_7d": [30.5, 0.0, 99.9], "segment": ["a", "b", "a"],
              "event_timestamp": ts, "created": ts}).to_parquet(os.path.join(here, "data/user_stats.parquet"))
pd.DataFrame({"merchant_id": ["m1", "m2", "m3"], "rating": pd.Series([4.5, 3.0, 5.0], dtype="float32"),
              "n_reviews": [10, 2, 99], "event_timestamp": ts}).to_parquet(os.path.join(here, "data/merchant_stats.parquet"))
pd.DataFrame({"user_id": [1, 1, 2], "merchant_id": ["m1", "m2", "m1"], "visits_30d": [4, 1, 2],
              "last_amount": [12.0, 8.5, 3.25], "event_timestamp": ts}).to_parquet(os.path.join(here, "data/user_merchant.parquet"))
