"""Feast <-> Strata online-store compatibility check, run with a Python that has feast and redis installed.

    python feast_compat.py read  --redis redis://127.0.0.1:6380 --project P --entities 1,2,3
        Feast's FeatureStore.get_online_features reads the `compat` view that Strata wrote; prints JSON
        {"values": {feature: [value per entity]}} (bytes as {"hex"}, datetimes as {"iso"}, big ints as {"int"}).
    python feast_compat.py write --redis redis://127.0.0.1:6380 --project P
        Feast's write_to_online_store writes rows for entities 10 and 11; prints JSON of what it wrote.
    --redis-type redis_cluster (with --redis redis://host1:port1,host2:port2,...) runs either on a Redis Cluster,
        through Feast's `redis_type: redis_cluster` online store.

Both build a throwaway feature repo in a temporary folder: entity `driver` (join key driver_id, INT64) and the
feature view `compat` below, online store = the given Redis, entity_key_serialization_version 3.
The feature list must match COMPAT_VIEW in internal-packages/online-redis/src/feast-compat.itest.ts.
"""

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Array, Bool, Bytes, Float32, Float64, Int32, Int64, String, UnixTimestamp

FEATURES = [
    ("i32", Int32),
    ("i64", Int64),
    ("f32", Float32),
    ("f64", Float64),
    ("s", String),
    ("b", Bool),
    ("raw", Bytes),
    ("ts", UnixTimestamp),
    ("tags", Array(String)),
    ("scores", Array(Float64)),
    ("ids", Array(Int64)),
]


def make_store(redis_url: str, project: str, workdir: str, redis_type: str = "redis") -> tuple[FeatureStore, Entity, FeatureView]:
    if redis_type == "redis_cluster":
        nodes = [n.strip() for n in redis_url.split(",") if n.strip()]
        first = urlparse(nodes[0] if "://" in nodes[0] else f"redis://{nodes[0]}")
        hosts = [urlparse(n if "://" in n else f"redis://{n}") for n in nodes]
        conn = ",".join(f"{h.hostname}:{h.port or 6379}" for h in hosts)
        if first.password:
            conn += f",password={first.password}"
    else:
        u = urlparse(redis_url)
        conn = f"{u.hostname or '127.0.0.1'}:{u.port or 6379}"
        db = (u.path or "/").strip("/")
        if db:
            conn += f",db={db}"
        if u.password:
            conn += f",password={u.password}"
    with open(os.path.join(workdir, "feature_store.yaml"), "w") as f:
        f.write(
            "\n".join(
                [
                    f"project: {project}",
                    "registry: registry.db",
                    "provider: local",
                    "online_store:",
                    "  type: redis",
                    f"  redis_type: {redis_type}",
                    f"  connection_string: \"{conn}\"",
                    "offline_store:",
                    "  type: file",
                    "entity_key_serialization_version: 3",
                    "",
                ]
            )
        )
    source_path = os.path.join(workdir, "source.parquet")
    sample = {"driver_id": [0], "event_timestamp": [datetime(2020, 1, 1, tzinfo=timezone.utc)]}
    pd.DataFrame(sample).to_parquet(source_path)
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="compat",
        entities=[driver],
        ttl=timedelta(0),
        schema=[Field(name=n, dtype=t) for n, t in FEATURES],
        online=True,
        source=FileSource(path=source_path, timestamp_field="event_timestamp"),
    )
    store = FeatureStore(repo_path=workdir)
    store.apply([driver, view])
    return store, driver, view


def to_json(v):
    if v is None:
        return None
    if isinstance(v, bytes):
        return {"hex": v.hex()}
    if isinstance(v, datetime):
        return {"iso": v.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
        return {"int": str(v)}
    if hasattr(v, "item"):  # numpy scalars
        return to_json(v.item())
    return v


def read(store: FeatureStore, entities: list[int]) -> dict:
    resp = store.get_online_features(
        features=[f"compat:{n}" for n, _ in FEATURES], entity_rows=[{"driver_id": e} for e in entities]
    )
    values = resp.to_dict()
    values.pop("driver_id", None)
    return {"values": {k: to_json(list(v)) for k, v in values.items()}}


def write(store: FeatureStore) -> dict:
    now = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
    rows = {
        "driver_id": [10, 11],
        "event_timestamp": [now, now - timedelta(hours=1)],
        "i32": [-3, 4],
        "i64": [2**62, -5],
        "f32": [0.5, -2.0],
        "f64": [0.1, 1e300],
        "s": ["feast", "Жёлтый"],
        "b": [True, False],
        "raw": [b"\x00\x01", b""],
        "ts": [datetime(2020, 12, 7, 10, 30, 5, tzinfo=timezone.utc), datetime(1999, 1, 1, tzinfo=timezone.utc)],
        "tags": [["a", "b"], []],
        "scores": [[1.5, -2.5], [0.0]],
        "ids": [[1, 2**60], [7]],
    }
    store.write_to_online_store("compat", df=pd.DataFrame(rows))
    return {k: to_json(v) for k, v in rows.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["read", "write"])
    ap.add_argument("--redis", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--entities", default="")
    ap.add_argument("--redis-type", default="redis", choices=["redis", "redis_cluster"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        store, _, _ = make_store(args.redis, args.project, workdir, args.redis_type)
        if args.mode == "read":
            out = read(store, [int(x) for x in args.entities.split(",") if x])
        else:
            out = write(store)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
