"""Feast definitions used by Strata's compatibility check (compat/feast-registry/run.sh).

Two entities (a view keyed by both of them is the composite key), three feature views backed by parquet files with
TTLs, and one feature service that selects from all three views.
"""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float32, Float64, Int64, String

user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64, description="a customer", owner="ml@example.com", tags={"team": "growth"})
merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.STRING, description="a shop")

user_stats_source = FileSource(
    name="user_stats_source",
    path="data/user_stats.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_column="created",
)
merchant_stats_source = FileSource(
    name="merchant_stats_source",
    path="data/merchant_stats.parquet",
    timestamp_field="event_timestamp",
)
user_merchant_source = FileSource(
    name="user_merchant_source",
    path="data/user_merchant.parquet",
    timestamp_field="event_timestamp",
)

user_stats = FeatureView(
    name="user_stats",
    entities=[user],
    ttl=timedelta(days=2),
    schema=[
        Field(name="user_id", dtype=Int64),
        Field(name="orders_7d", dtype=Int64, description="orders in the last 7 days"),
        Field(name="spend_7d", dtype=Float64),
        Field(name="segment", dtype=String, tags={"pii": "false"}),
    ],
    online=True,
    source=user_stats_source,
    description="per-user activity",
    owner="ml@example.com",
    tags={"tier": "gold"},
)

merchant_stats = FeatureView(
    name="merchant_stats",
    entities=[merchant],
    ttl=timedelta(hours=6),
    schema=[
        Field(name="merchant_id", dtype=String),
        Field(name="rating", dtype=Float32),
        Field(name="n_reviews", dtype=Int64),
    ],
    online=True,
    source=merchant_stats_source,
)

# The composite key: a view keyed by two entities (user_id, merchant_id).
user_merchant = FeatureView(
    name="user_merchant",
    entities=[user, merchant],
    ttl=timedelta(days=30),
    schema=[
        Field(name="user_id", dtype=Int64),
        Field(name="merchant_id", dtype=String),
        Field(name="visits_30d", dtype=Int64),
        Field(name="last_amount", dtype=Float64),
    ],
    online=False,
    source=user_merchant_source,
)

checkout_model = FeatureService(
    name="checkout_model",
    features=[user_stats[["orders_7d", "spend_7d"]], merchant_stats, user_merchant],
    description="features the checkout model reads",
    tags={"model": "checkout-v1"},
)
