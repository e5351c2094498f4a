"""Loads a folder of Hopsworks DTOs (as `strata export hopsworks` writes it) with the hopsworks client's own classes
(hsfs FeatureGroup / ExternalFeatureGroup / FeatureView / TrainingDataset / ExpectationSuite .from_response_json),
no cluster needed, and prints, as JSON on stdout:
  - "loaded": per file, the fields as the hsfs objects hold them (so a caller can compare them with the DTO);
  - writes what those objects serialize (their to_dict through hsfs's JSON encoder) to OUT, in the same layout,
    so the caller can import it back.
Usage: python check.py IN_FOLDER OUT_FOLDER
"""
import glob
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")

import hopsworks_common.connection  # noqa: E402
from hopsworks_common import util  # noqa: E402
from hsfs import feature_group, feature_view, training_dataset  # noqa: E402

# Queries ask which engine runs them; the python engine is what a client without Spark uses. No connection is made.
hopsworks_common.connection._hsfs_engine_type = "python"


def dumped(obj):
    return json.loads(json.dumps(obj, cls=util.Encoder))


def suite_fields(es):
    if es is None:
        return None
    return {
        "id": es.id,
        "name": es.expectation_suite_name,
        "run_validation": es.run_validation,
        "validation_ingestion_policy": es.validation_ingestion_policy,
        "expectations": [
            {"type": e.expectation_type, "kwargs": e.kwargs, "meta": e.meta} for e in es.expectations
        ],
        "meta": es.meta,
    }


def fg_fields(fg):
    return {
        "class": type(fg).__name__,
        "name": fg.name,
        "version": fg.version,
        "description": fg.description,
        "featurestore_id": fg.feature_store_id,
        "online_enabled": fg.online_enabled,
        "event_time": fg.event_time,
        "primary_key": list(fg.primary_key),
        "stream": getattr(fg, "stream", None),
        "features": [
            {"name": f.name, "type": f.type, "primary": f.primary, "online_type": f.online_type}
            for f in fg.features
        ],
        "expectation_suite": suite_fields(fg.expectation_suite),
    }


def query_fields(q):
    return {
        "left_feature_group": {"name": q._left_feature_group.name, "version": q._left_feature_group.version},
        "left_features": [f.name for f in q._left_features],
        "joins": [
            {
                "query": query_fields(j.query),
                "on": [getattr(x, "name", x) for x in (j._on or [])],
                "left_on": [getattr(x, "name", x) for x in (j._left_on or [])],
                "right_on": [getattr(x, "name", x) for x in (j._right_on or [])],
                "type": j._join_type,
                "prefix": j._prefix,
            }
            for j in q._joins
        ],
    }


def fv_fields(fv):
    return {
        "name": fv.name,
        "version": fv.version,
        "description": fv.description,
        "labels": list(fv.labels),
        "features": [{"name": f.name, "type": f.type, "label": f.label} for f in fv.features],
        "query": query_fields(fv.query),
    }


def td_fields(td):
    return {
        "name": td.name,
        "version": td.version,
        "description": td.description,
        "data_format": td.data_format,
        "seed": td.seed,
        "splits": [{"name": s.name, "split_type": s.split_type, "percentage": s.percentage} for s in td.splits],
    }


def main(src, out):
    loaded = {}
    for path in sorted(glob.glob(os.path.join(src, "**", "*.json"), recursive=True)):
        rel = os.path.relpath(path, src)
        with open(path) as f:
            dto = json.load(f)
        kind = dto.get("type") if isinstance(dto, dict) else None
        if kind in ("cachedFeaturegroupDTO", "streamFeatureGroupDTO"):
            obj = feature_group.FeatureGroup.from_response_json(dict(dto))
            fields = fg_fields(obj)
        elif kind == "onDemandFeaturegroupDTO":
            obj = feature_group.ExternalFeatureGroup.from_response_json(dict(dto))
            fields = fg_fields(obj)
        elif kind == "featureViewDTO":
            obj = feature_view.FeatureView.from_response_json(dict(dto))
            fields = fv_fields(obj)
        elif kind == "trainingDatasetDTO":
            obj = training_dataset.TrainingDataset.from_response_json(dict(dto))
            fields = td_fields(obj)
        else:
            obj, fields = None, None
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            json.dump(dumped(obj) if obj is not None else dto, f, indent=1)
        loaded[rel] = fields
    json.dump({"loaded": loaded}, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
