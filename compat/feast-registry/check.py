"""Compares two Feast repos through Feast's own Python API: the one `feast apply` wrote and the one Strata exported.

usage: python check.py <applied_repo> <strata_export>
Prints a JSON summary; exits non-zero when an entity, feature view or feature service differs (metadata such as
timestamps excluded), or when the export cannot serve features.
"""

import json
import sys

from feast import FeatureStore


def specs(store):
    project = store.project
    ents = {e.name: e.to_proto().spec for e in store.list_entities()}
    views = {v.name: v.to_proto().spec for v in store.list_feature_views()}
    services = {s.name: s.to_proto().spec for s in store.list_feature_services()}
    return project, ents, views, services


def main():
    applied, exported = FeatureStore(repo_path=sys.argv[1]), FeatureStore(repo_path=sys.argv[2])
    a, b = specs(applied), specs(exported)
    problems = []
    if a[0] != b[0]:
        problems.append(f"project {a[0]} != {b[0]}")
    for kind, x, y in (("entity", a[1], b[1]), ("feature view", a[2], b[2]), ("feature service", a[3], b[3])):
        if sorted(x) != sorted(y):
            problems.append(f"{kind} names differ: {sorted(x)} vs {sorted(y)}")
        for name in x:
            if name in y and x[name] != y[name]:
                problems.append(f"{kind} {name} differs:\n{x[name]}\n---\n{y[name]}")
    svc = exported.get_feature_service("checkout_model")
    refs = [f"{p.name}:{f.name}" for p in svc.feature_view_projections for f in p.features]
    summary = {
        "project": b[0],
        "entities": sorted(b[1]),
        "feature_views": sorted(b[2]),
        "feature_services": sorted(b[3]),
        "checkout_model": refs,
        "problems": problems,
    }
    print(json.dumps(summary, indent=1))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
