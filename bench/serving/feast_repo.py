"""A Feast feature repo for the benchmarks, run with the Python of a venv that has feast from PyPI.

    python feast_repo.py setup --dir D --redis URL --project P --rows N --features F [--parquet]
        Writes D/feature_store.yaml (Redis online store, file offline store, serialization v3) and a feature view
        `bench` (entity user, join key user_id INT64; features f0..f{F-1} DOUBLE; event_timestamp), then applies it.
        With --parquet, also writes the N source rows (user_id 1..N, f_j = user_id + j / 100) to D/source.parquet.
    python feast_repo.py materialize --dir D
        Runs FeatureStore.materialize over all time and prints {"rows": N, "seconds": S} (import/apply excluded).
"""

import argparse
import json
import os
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pandas as pd


def feature_view(workdir: str, features: int):
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64

    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="bench",
        entities=[user],
        ttl=timedelta(0),
        schema=[Field(name=f"f{j}", dtype=Float64) for j in range(features)],
        online=True,
        source=FileSource(path=os.path.join(workdir, "source.parquet"), timestamp_field="event_timestamp"),
    )
    return user, view


def setup(args):
    os.makedirs(args.dir, exist_ok=True)
    u = urlparse(args.redis)
    with open(os.path.join(args.dir, "feature_store.yaml"), "w") as f:
        f.write(
            "\n".join(
                [
                    f"project: {args.project}",
                    "registry: registry.db",
                    "provider: local",
                    "online_store:",
                    "  type: redis",
                    f'  connection_string: "{u.hostname}:{u.port}"',
                    "offline_store:",
                    "  type: file",
                    "entity_key_serialization_version: 3",
                    "",
                ]
            )
        )
    rows = args.rows if args.parquet else 1
    ts = datetime(2024, 1, 1, tzinfo=timezone.utc)
    data = {"user_id": list(range(1, rows + 1)), "event_timestamp": [ts] * rows}
    for j in range(args.features):
        data[f"f{j}"] = [i + j / 100 for i in range(1, rows + 1)]
    pd.DataFrame(data).to_parquet(os.path.join(args.dir, "source.parquet"))
    from feast import FeatureStore

    store = FeatureStore(repo_path=args.dir)
    user, view = feature_view(args.dir, args.features)
    store.apply([user, view])
    print(json.dumps({"ok": True, "dir": args.dir}))


def materialize(args):
    from feast import FeatureStore

    store = FeatureStore(repo_path=args.dir)
    rows = len(pd.read_parquet(os.path.join(args.dir, "source.parquet"), columns=["user_id"]))
    started = time.perf_counter()
    store.materialize(start_date=datetime(2000, 1, 1, tzinfo=timezone.utc), end_date=datetime(2030, 1, 1, tzinfo=timezone.utc))
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["setup", "materialize"])
    p.add_argument("--dir", required=True)
    p.add_argument("--redis", default="redis://127.0.0.1:6380")
    p.add_argument("--project", default="bench")
    p.add_argument("--rows", type=int, default=1)
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--parquet", action="store_true")
    a = p.parse_args()
    setup(a) if a.cmd == "setup" else materialize(a)
