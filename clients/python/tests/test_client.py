"""strata-client against a real Strata server: apply, ingest (DataFrame and file), validation report,
point-in-time training sets as pandas (dtypes and time zones), online reads through the serving app, and errors."""

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from strata_client import Client, StrataError

SPEC = """
entities:
  - name: user
    joinKeys: [{ name: user_id, valueType: INT64 }]
featureViews:
  - name: user_stats
    entities: [user]
    timestampField: event_timestamp
    online: true
    features:
      - { name: clicks, valueType: INT64 }
      - { name: score, valueType: DOUBLE }
      - { name: country, valueType: STRING }
    expectationSuite:
      name: stats
      expectations:
        - { type: expect_column_values_to_be_between, kwargs: { column: score, min_value: 0, max_value: 100 } }
"""


def utc(*a) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(*a, tzinfo=dt.timezone.utc))


def _stats(client: Client) -> None:
    client.apply(SPEC)
    df = pd.DataFrame(
        {
            "user_id": [1, 2, 1],
            "event_timestamp": [utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 2, 1)],
            "clicks": [3, 7, 4],
            "score": [0.5, 1.5, 0.75],
            "country": ["fr", "de", "fr"],
        }
    )
    res = client.ingest("user_stats", df, materialize=True)
    assert res["status"] == "committed" and res["rows"] == 3


def test_apply_lists_and_conflicts(client: Client):
    planned = client.plan(SPEC)
    assert "+ feature view user_stats: create" in planned["text"]
    client.apply(SPEC, based_on=planned["revision"])
    views = client.list_feature_views()
    assert [(v["name"], v["version"]) for v in views] == [("user_stats", 1)]
    with pytest.raises(StrataError) as e:
        client.apply(SPEC.replace("DOUBLE", "DOUBLE }\n      - { name: extra, valueType: STRING"), based_on=planned["revision"])
    assert e.value.status == 409 and e.value.code == "CONFLICT"


def test_ingest_dataframe_and_file_then_training_set(client: Client, tmp_path):
    _stats(client)
    csv = tmp_path / "more.csv"
    csv.write_text("user_id,event_timestamp,clicks,score,country\n3,2024-01-15T00:00:00Z,9,2.5,\n")
    assert client.ingest("user_stats", str(csv))["rows"] == 1
    pq_path = tmp_path / "late.parquet"
    late = pd.DataFrame({"user_id": [5], "event_timestamp": [utc(2024, 5, 1)], "clicks": [1], "score": [2.0], "country": ["it"]})
    pq.write_table(pa.Table.from_pandas(late, preserve_index=False), pq_path)
    jl_path = tmp_path / "late.jsonl"
    jl_path.write_text('{"user_id": 6, "event_timestamp": "2024-05-01T00:00:00Z", "clicks": 2, "score": 1.0, "country": "es"}\n')
    assert client.ingest("user_stats", str(pq_path))["rows"] == 1
    assert client.ingest("user_stats", str(jl_path))["rows"] == 1

    entities = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 3, 4],
            "event_timestamp": [utc(2024, 1, 15), utc(2024, 3, 1), utc(2024, 1, 15), utc(2024, 2, 1), utc(2024, 2, 1)],
            "label": [0, 1, 1, 0, 1],
        }
    )
    train = client.get_historical_features(entities, features=["user_stats:clicks", "user_stats:score", "user_stats:country"])
    assert list(train.columns) == ["user_id", "event_timestamp", "label", "clicks", "score", "country"]
    assert str(train["event_timestamp"].dt.tz) in ("UTC", "utc")
    assert train["clicks"].dtype == pd.Int64Dtype()  # user 4 has no value: a null, not a float NaN
    assert train["score"].dtype == "float64"
    assert train["clicks"].tolist()[:4] == [3, 4, 7, 9]
    assert pd.isna(train["clicks"].iloc[4])
    assert train["country"].tolist()[:3] == ["fr", "fr", "de"]
    assert pd.isna(train["country"].iloc[3])

    # The same training set from a file of entity rows, and pinned to the first commit.
    path = tmp_path / "entities.parquet"
    pq.write_table(pa.Table.from_pandas(entities, preserve_index=False), path)
    first = min(c["commitSeq"] for c in client.history("user_stats") if c["commitSeq"] is not None)
    pinned = client.get_historical_features(str(path), features=["user_stats:clicks"], as_of_commit=first)
    assert pd.isna(pinned["clicks"].iloc[3])  # user 3 came with the second commit


def test_validation_report_and_online(client: Client):
    _stats(client)
    report = client.validation_report(view="user_stats")
    assert report["success"] is True
    assert report["statistics"]["evaluated_expectations"] == 1
    online = client.get_online_features(features=["user_stats:clicks", "user_stats:score"], entities={"user_id": [1, 2, 99]})
    assert online["results"][1]["values"] == [4, 7, None]
    assert online["results"][1]["statuses"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
    df = client.get_online_features(features=["user_stats:score"], entities={"user_id": [2]}, as_dataframe=True)
    assert df["score"].tolist() == [1.5]


def test_errors_are_clear(client: Client, admin: Client):
    with pytest.raises(StrataError) as e:
        client.get_feature_view("nope")
    assert e.value.status == 404
    bad = Client(client.url, api_key="strata_not-a-key", project=client.project)
    with pytest.raises(StrataError) as e:
        bad.list_feature_views()
    assert e.value.status == 401
    viewer_key = admin._json("POST", "/api/v1/keys", json={"name": "viewer", "roles": {client.project: "viewer"}})["key"]
    viewer = Client(client.url, api_key=viewer_key, project=client.project)
    with pytest.raises(StrataError) as e:
        viewer.apply(SPEC)
    assert e.value.status == 403 and e.value.code == "FORBIDDEN"
    assert "strata_" not in repr(viewer)
