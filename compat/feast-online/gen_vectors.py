"""Writes byte vectors made by the real feast package (and mmh3) for @strata/online-redis's unit tests.

Run with a Python that has feast installed (its own venv, never a Strata dependency):
    python gen_vectors.py ../../internal-packages/online-redis/src/__fixtures__/feast-vectors.json
The JSON holds only inputs and the hex bytes feast produced for them.
"""

import importlib.metadata
import json
import sys
from datetime import datetime, timezone

import feast
import mmh3
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import _mmh3, _redis_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value
from feast.type_map import python_values_to_proto_values
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def iso(d):
    return d.isoformat().replace("+00:00", "Z")


def murmur_vectors():
    texts = ["", "a", "ab", "abc", "abcd", "abcde", "driver_hourly_stats:conv_rate", "user_stats:clicks_7d",
             "v:f", "ünïcødé:特徴", "x" * 31]
    out = []
    for t in texts:
        out.append({"text": t, "hash": mmh3.hash(t.encode("utf8"), 0, signed=False), "fieldHex": _mmh3(t).hex()})
    for seed in [1, 42, 0xDEADBEEF]:
        out.append({"text": "seeded", "seed": seed, "hash": mmh3.hash(b"seeded", seed, signed=False)})
    return out


def key_value(vt, v):
    if vt == "STRING":
        return Value(string_val=v)
    if vt == "INT64":
        return Value(int64_val=int(v))
    if vt == "INT32":
        return Value(int32_val=int(v))
    if vt == "BYTES":
        return Value(bytes_val=bytes.fromhex(v))
    if vt == "UNIX_TIMESTAMP":
        return Value(unix_timestamp_val=int(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()))
    raise ValueError(vt)


def entity_key_vectors():
    # Each case: join keys (name, type) in the view's order and the values (INT64 as text, BYTES as hex).
    cases = [
        ("int64", [("driver_id", "INT64")], {"driver_id": "1001"}),
        ("int64 negative", [("user_id", "INT64")], {"user_id": "-5"}),
        ("int64 max", [("user_id", "INT64")], {"user_id": "9223372036854775807"}),
        ("int64 min", [("user_id", "INT64")], {"user_id": "-9223372036854775808"}),
        ("int32", [("shop", "INT32")], {"shop": "-2147483648"}),
        ("string", [("customer", "STRING")], {"customer": "c-42"}),
        ("string unicode", [("name", "STRING")], {"name": "Жёлтый 特徴"}),
        ("string empty", [("name", "STRING")], {"name": ""}),
        ("bytes", [("blob", "BYTES")], {"blob": "00ff2a5c"}),
        ("timestamp", [("day", "UNIX_TIMESTAMP")], {"day": "2020-12-07T00:00:00Z"}),
        ("composite", [("user_id", "INT64"), ("promo", "STRING")], {"user_id": "7", "promo": "spring"}),
        ("composite three", [("z", "INT32"), ("a", "STRING"), ("m", "INT64")], {"z": "1", "a": "x", "m": "2"}),
        ("composite name prefix", [("id", "INT64"), ("id2", "INT64"), ("Id", "STRING")], {"id": "1", "id2": "2", "Id": "u"}),
    ]
    out = []
    for project in ["proj", "feature_repo"]:
        for name, keys, values in cases:
            ek = EntityKey(join_keys=[k for k, _ in keys], entity_values=[key_value(t, values[k]) for k, t in keys])
            out.append({
                "name": name,
                "project": project,
                "joinKeys": [{"name": k, "valueType": t} for k, t in keys],
                "values": values,
                "entityKeyHex": serialize_entity_key(ek, entity_key_serialization_version=3).hex(),
                "redisKeyHex": _redis_key(project, ek, entity_key_serialization_version=3).hex(),
            })
    return out


def value_vectors():
    T = ValueType
    cases = [
        ("INT32", T.INT32, [0, 1, -1, 2147483647, -2147483648]),
        ("INT64", T.INT64, [0, 42, -42, 9007199254740993, 9223372036854775807, -9223372036854775808]),
        ("FLOAT", T.FLOAT, [0.0, 1.5, -0.25, 3.4028234663852886e38]),
        ("DOUBLE", T.DOUBLE, [0.0, 0.1, -1e300, 123456.789]),
        ("STRING", T.STRING, ["", "hello", "Жёлтый 特徴 🙂"]),
        ("BOOL", T.BOOL, [True, False]),
        ("BYTES", T.BYTES, [b"", b"\x00\x01\xff"]),
        ("UNIX_TIMESTAMP", T.UNIX_TIMESTAMP, [utc(1970, 1, 1), utc(2020, 12, 7, 10, 30, 5), utc(1960, 5, 1)]),
        ("INT32_LIST", T.INT32_LIST, [[], [1, -2, 3]]),
        ("INT64_LIST", T.INT64_LIST, [[], [1, -2, 9223372036854775807]]),
        ("FLOAT_LIST", T.FLOAT_LIST, [[0.5, -1.25]]),
        ("DOUBLE_LIST", T.DOUBLE_LIST, [[0.1, 2.0, -3.5]]),
        ("STRING_LIST", T.STRING_LIST, [[], ["a", "", "é"]]),
        ("BOOL_LIST", T.BOOL_LIST, [[True, False, True]]),
        ("BYTES_LIST", T.BYTES_LIST, [[b"\x01", b""]]),
        ("UNIX_TIMESTAMP_LIST", T.UNIX_TIMESTAMP_LIST, [[utc(2021, 1, 1), utc(1970, 1, 1, 0, 0, 1)]]),
    ]
    out = []
    for name, vt, values in cases:
        protos = python_values_to_proto_values(values + [None], vt)
        for v, p in zip(values + [None], protos):
            if isinstance(v, bytes):
                js = v.hex()
            elif isinstance(v, datetime):
                js = iso(v)
            elif isinstance(v, list):
                js = [x.hex() if isinstance(x, bytes) else iso(x) if isinstance(x, datetime) else x for x in v]
            else:
                js = v
            if isinstance(js, int) and not isinstance(js, bool) and abs(js) > 2**53:
                js = str(js)
            if isinstance(js, list):
                js = [str(x) if isinstance(x, int) and not isinstance(x, bool) and abs(x) > 2**53 else x for x in js]
            out.append({"valueType": name, "value": js, "hex": p.SerializeToString().hex()})
    out.append({"valueType": "NULL", "value": None, "hex": Value(null_val=0).SerializeToString().hex(), "note": "null_val"})
    return out


def timestamp_vectors():
    out = []
    for d in [utc(1970, 1, 1), utc(2020, 12, 7, 10, 30, 5), utc(2020, 12, 7, 10, 30, 5, 123000), utc(1969, 12, 31, 23, 59, 59, 500000),
              utc(1900, 1, 1)]:
        ts = Timestamp()
        ts.FromDatetime(d)
        out.append({"iso": iso(d), "seconds": ts.seconds, "nanos": ts.nanos, "hex": ts.SerializeToString().hex()})
    return out


def main():
    vectors = {
        "generatedBy": f"feast {feast.__version__}, mmh3 {importlib.metadata.version('mmh3')}",
        "murmur3": murmur_vectors(),
        "entityKeys": entity_key_vectors(),
        "values": value_vectors(),
        "timestamps": timestamp_vectors(),
    }
    text = json.dumps(vectors, indent=1, ensure_ascii=False) + "\n"
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
