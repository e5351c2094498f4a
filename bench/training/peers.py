"""P4 peers: the same training set by DuckDB's ASOF JOIN and by Feast's get_historical_features (local file offline
store, dask). Prints one JSON line with seconds. Usage: python peers.py duckdb|feast <data dir> [max entity rows]"""
import json
import os
import sys
import tempfile
import time

mode, data = sys.argv[1], sys.argv[2]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
views = ["va", "vb", "vc"]

if mode == "duckdb":
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_parquet('{data}/entities.parquet')")
    for v in views:
        con.execute(f"CREATE TABLE {v} AS SELECT * FROM read_parquet('{data}/{v}.parquet')")
    load = time.perf_counter() - t0
    joins = " ".join(
        f"ASOF LEFT JOIN {v} ON e.user_id = {v}.user_id AND e.event_timestamp >= {v}.event_timestamp" for v in views
    )
    cols = ", ".join(f"{v}.f1 AS {v}__f1, {v}.f2 AS {v}__f2" for v in views)
    out = os.path.join(tempfile.mkdtemp(), "duck.parquet")
    t0 = time.perf_counter()
    con.execute(f"COPY (SELECT e.user_id, e.event_timestamp, e.label, {cols} FROM e {joins} ORDER BY e.row_id) TO '{out}' (FORMAT parquet)")
    secs = time.perf_counter() - t0
    n = con.execute(f"SELECT count(*), count(va__f1) FROM read_parquet('{out}')").fetchone()
    print(json.dumps({"peer": "duckdb", "version": duckdb.__version__, "seconds": secs, "load_seconds": load, "rows": n[0], "va_matched": n[1]}))
elif mode == "feast":
    from datetime import timedelta

    import feast
    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig
    from feast.types import Float64
    from feast.value_type import ValueType

    repo = tempfile.mkdtemp()
    cfg = RepoConfig(
        project="p4",
        registry=os.path.join(repo, "registry.db"),
        provider="local",
        offline_store={"type": "file"},
        online_store={"type": "sqlite", "path": os.path.join(repo, "online.db")},
        entity_key_serialization_version=3,
        repo_path=repo,
    )
    store = FeatureStore(config=cfg)
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    fvs = [
        FeatureView(
            name=v,
            entities=[user],
            ttl=timedelta(days=3650),
            schema=[Field(name="f1", dtype=Float64), Field(name="f2", dtype=Float64)],
            source=FileSource(path=f"{data}/{v}.parquet", timestamp_field="event_timestamp", created_timestamp_column="created"),
        )
        for v in views
    ]
    store.apply([user, *fvs])
    ents = pd.read_parquet(f"{data}/entities.parquet")
    if limit:
        ents = ents.head(limit)
    t0 = time.perf_counter()
    df = store.get_historical_features(entity_df=ents, features=[f"{v}:{f}" for v in views for f in ("f1", "f2")], full_feature_names=True).to_df()
    secs = time.perf_counter() - t0
    print(json.dumps({"peer": "feast", "version": feast.__version__, "seconds": secs, "rows": len(df), "entity_rows": len(ents), "va_matched": int(df["va__f1"].notna().sum())}))
