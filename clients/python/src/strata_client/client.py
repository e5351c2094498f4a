"""The Strata client: one object per server, project and API key.

Everything goes through the control plane's /api/v1 (the same API the CLI's remote mode uses); online reads go to
the serving app, which checks the same keys. Uploads are streamed from files; training sets come back as Arrow IPC
streams and are read batch by batch into a pyarrow Table, then into pandas with tz-aware timestamps and nullable
integer columns where there are nulls.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

import httpx
import pyarrow as pa
import pyarrow.ipc as ipc

try:  # pandas is optional
    import pandas as pd
except ImportError:  # pragma: no cover - exercised only without pandas
    pd = None  # type: ignore[assignment]

_CONTENT_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
    "jsonl": "application/x-ndjson",
}
_EXTENSIONS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".ipc": "arrow",
    ".feather": "arrow",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


class StrataError(Exception):
    """An error answered by the server: its stable code, message, HTTP status and details."""

    def __init__(self, code: str, message: str, status: int, details: Optional[dict] = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


@dataclass
class Run:
    """A long operation (a Temporal workflow) as the server reports it."""

    workflow_id: str
    url: str
    status: str
    progress: Optional[dict]
    result: Any = None
    error: Optional[dict] = None

    @property
    def done(self) -> bool:
        return self.status != "RUNNING"


class _IterStream(io.RawIOBase):
    """A readable file over an iterator of byte chunks (so pyarrow can read a streamed HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _file_format(path: str, fmt: Optional[str]) -> str:
    if fmt:
        return fmt
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXTENSIONS:
        raise ValueError(f"cannot tell the format of {path}; pass format='csv'|'parquet'|'arrow'|'jsonl'")
    return _EXTENSIONS[ext]


def _file_chunks(path: str, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            chunk = f.read(size)
            if not chunk:
                return
            yield chunk


def _to_arrow(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        table = data
    elif pd is not None and isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data, preserve_index=False)
    else:
        raise TypeError("expected a pandas DataFrame, a pyarrow Table or a file path")
    # Timestamps travel as milliseconds in UTC (naive ones are taken as UTC).
    fields = []
    for f in table.schema:
        if pa.types.is_timestamp(f.type):
            fields.append(pa.field(f.name, pa.timestamp("ms", tz=f.type.tz or "UTC")))
        else:
            fields.append(f)
    return table.cast(pa.schema(fields), safe=False)


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def to_pandas(table: pa.Table) -> "pd.DataFrame":
    """A pyarrow Table as pandas: timestamps tz-aware (UTC when the stream has no zone), integer columns with nulls
    as pandas' nullable Int dtypes instead of floats, booleans with nulls as 'boolean'."""
    if pd is None:
        raise ImportError("pandas is not installed: pip install 'strata-client[pandas]'")
    cols = []
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is None:
            cols.append(pa.field(f.name, pa.timestamp(f.type.unit, tz="UTC")))
        else:
            cols.append(f)
    table = table.cast(pa.schema(cols))
    mapping = {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    df = table.to_pandas()
    for f in table.schema:
        if f.type in mapping and table.column(f.name).null_count > 0:
            df[f.name] = table.column(f.name).to_pandas(types_mapper=mapping.get)
    return df


class Client:
    """A client of one Strata server and project.

    url: the control plane (`strata server`, e.g. http://127.0.0.1:6570); api_key: a key from `strata keys create`;
    project: the project (default 'default'); serving_url: the serving app (`strata serve`) for online reads.
    """

    def __init__(
        self,
        url: str,
        api_key: Optional[str] = None,
        project: str = "default",
        serving_url: Optional[str] = None,
        timeout: float = 300.0,
        poll_seconds: float = 0.5,
    ):
        self.url = url.rstrip("/")
        self.project = project
        self.serving_url = serving_url.rstrip("/") if serving_url else None
        self.poll_seconds = poll_seconds
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self._serving = httpx.Client(base_url=self.serving_url, headers=headers, timeout=timeout) if self.serving_url else None

    def close(self) -> None:
        self._http.close()
        if self._serving:
            self._serving.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:  # never the key
        return f"Client(url={self.url!r}, project={self.project!r})"

    # ---- plumbing ---------------------------------------------------------------------------------------------

    def _p(self, rest: str = "") -> str:
        return f"/api/v1/projects/{self.project}{rest}"

    @staticmethod
    def _check(r: httpx.Response) -> httpx.Response:
        if r.status_code < 400:
            return r
        try:
            e = r.json().get("error", {})
        except Exception:
            e = {}
        raise StrataError(e.get("code", "HTTP_%d" % r.status_code), e.get("message", r.text[:500]), r.status_code, e.get("details"))

    def _json(self, method: str, path: str, **kw) -> Any:
        return self._check(self._http.request(method, path, **kw)).json()

    # ---- registry ---------------------------------------------------------------------------------------------

    def plan(self, path_or_text: str) -> dict:
        """What apply would change: {changes, text, revision}."""
        return self._json("POST", self._p("/plan"), content=self._spec_text(path_or_text), headers={"content-type": "application/yaml"})

    def apply(self, path_or_text: Union[str, Sequence[str]], based_on: Optional[str] = None) -> dict:
        """Applies a spec (a YAML/JSON file, several files, or the text itself), in the formats the CLI reads.
        With based_on (a plan's revision), a registry changed since is refused (StrataError CONFLICT, 409)."""
        paths = [path_or_text] if isinstance(path_or_text, str) else list(path_or_text)
        text = "\n---\n".join(self._spec_text(p) for p in paths)
        headers = {"content-type": "application/yaml"}
        if based_on:
            headers["if-match"] = f'"{based_on}"'
        return self._json("POST", self._p("/apply"), content=text, headers=headers)

    @staticmethod
    def _spec_text(path_or_text: str) -> str:
        if "\n" not in path_or_text and os.path.exists(path_or_text):
            with open(path_or_text, encoding="utf-8") as f:
                return f.read()
        return path_or_text

    def list_feature_views(self) -> list:
        return self._json("GET", self._p("/feature-views"))["featureViews"]

    def get_feature_view(self, name: str, version: Optional[int] = None) -> dict:
        path = f"/feature-views/{name}" + (f"/versions/{version}" if version else "")
        return self._json("GET", self._p(path))

    def list_entities(self) -> list:
        return self._json("GET", self._p("/entities"))["entities"]

    def list_feature_services(self) -> list:
        return self._json("GET", self._p("/feature-services"))["featureServices"]

    # ---- runs -------------------------------------------------------------------------------------------------

    def run(self, workflow_id: str) -> Run:
        r = self._json("GET", self._p(f"/runs/{workflow_id}"))
        return Run(r["workflowId"], r["url"], r["status"], r.get("progress"), r.get("result"), r.get("error"))

    def wait(self, workflow_id: str, timeout: float = 3600.0) -> Any:
        """Waits for a run; returns its result or raises StrataError with the run's failure."""
        until = time.monotonic() + timeout
        while True:
            run = self.run(workflow_id)
            if run.status == "COMPLETED":
                return run.result
            if run.done:
                e = run.error or {"code": "INTERNAL", "message": f"run {run.status.lower()}", "details": {}}
                raise StrataError(e.get("code", "INTERNAL"), e.get("message", ""), 200, e.get("details"))
            if time.monotonic() > until:
                raise TimeoutError(f"run {workflow_id} still running after {timeout} s")
            time.sleep(self.poll_seconds)

    # ---- ingestions -------------------------------------------------------------------------------------------

    def ingest(
        self,
        view: str,
        data: Any,
        *,
        format: Optional[str] = None,
        ingestion_id: Optional[str] = None,
        materialize: bool = False,
        policy: Optional[str] = None,
        wait: bool = True,
    ) -> dict:
        """Ingests a DataFrame, a pyarrow Table or a file (CSV, Parquet, Arrow IPC, JSON lines; streamed) into a view
        as one atomic commit. With wait (default) returns the ingest result (commitSeq, rows, validation), else the
        accepted run."""
        if isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            fmt = _file_format(path, format)
            body: Union[bytes, Iterable[bytes]] = _file_chunks(path)
            headers = {"content-type": _CONTENT_TYPES[fmt], "content-length": str(os.stat(path).st_size)}
        else:
            fmt = "arrow"
            body = _ipc_bytes(_to_arrow(data))
            headers = {"content-type": _CONTENT_TYPES["arrow"]}
        params = {"format": fmt}
        if ingestion_id:
            params["ingestion_id"] = ingestion_id
        if materialize:
            params["materialize"] = "true"
        if policy:
            params["policy"] = policy
        accepted = self._json("POST", self._p(f"/feature-views/{view}/ingestions"), content=body, headers=headers, params=params)
        if not wait:
            return accepted
        result = self.wait(accepted["run"]["workflowId"])
        return {**result, "workflowId": accepted["run"]["workflowId"], "url": accepted["run"]["url"]}

    def list_ingestions(self, view: Optional[str] = None) -> list:
        return self._json("GET", self._p("/ingestions"), params={"view": view} if view else None)["ingestions"]

    def validation_report(self, ingestion_id: Optional[str] = None, *, view: Optional[str] = None) -> dict:
        """The Great Expectations validation result of an ingestion (or of the view's latest one that has one)."""
        if ingestion_id is None:
            if view is None:
                raise ValueError("give an ingestion id or view=")
            found = [i for i in self.list_ingestions(view) if i.get("hasReport")]
            if not found:
                raise StrataError("UNKNOWN_OBJECT", f"view '{view}' has no validation report yet", 404)
            ingestion_id = found[0]["id"]
        return self._json("GET", self._p(f"/ingestions/{ingestion_id}/validation-report"))

    def statistics(self, ingestion_id: str) -> dict:
        return self._json("GET", self._p(f"/ingestions/{ingestion_id}/statistics"))

    def release(self, ingestion_id: str, wait: bool = True) -> dict:
        accepted = self._json("POST", self._p(f"/ingestions/{ingestion_id}/release"), json={})
        return self.wait(accepted["run"]["workflowId"]) if wait else accepted

    def history(self, view: str) -> list:
        return self._json("GET", self._p(f"/feature-views/{view}/commits"))["commits"]

    def materialize(self, view: str, start: Optional[str] = None, end: Optional[str] = None, wait: bool = True) -> dict:
        body: dict = {"view": view}
        if start:
            body["start"] = start
        if end:
            body["end"] = end
        accepted = self._json("POST", self._p("/materializations"), json=body)
        return self.wait(accepted["run"]["workflowId"]) if wait else accepted

    # ---- reads ------------------------------------------------------------------------------------------------

    def _arrow_stream(self, method: str, path: str, **kw) -> pa.Table:
        with self._http.stream(method, path, **kw) as r:
            if r.status_code >= 400:
                r.read()
                self._check(r)
            reader = ipc.open_stream(io.BufferedReader(_IterStream(r.iter_bytes()), buffer_size=1 << 20))
            return reader.read_all()

    def get_historical_features_arrow(
        self,
        entity_df: Any,
        features: Optional[Sequence[str]] = None,
        feature_service: Optional[str] = None,
        *,
        timestamp_column: str = "event_timestamp",
        full_feature_names: bool = False,
        as_of_commit: Optional[int] = None,
        as_of: Optional[str] = None,
    ) -> pa.Table:
        """The training set as a pyarrow Table (see get_historical_features)."""
        if not features and not feature_service:
            raise ValueError("give features=[...] or feature_service=")
        params: dict = {"timestamp_column": timestamp_column}
        if features:
            params["features"] = ",".join(features)
        if feature_service:
            params["feature_service"] = feature_service
        if full_feature_names:
            params["full_feature_names"] = "true"
        if as_of_commit is not None:
            params["as_of_commit"] = str(as_of_commit)
        if as_of is not None:
            params["as_of"] = as_of
        if isinstance(entity_df, (str, os.PathLike)):
            path = os.fspath(entity_df)
            fmt = _file_format(path, None)
            body: Union[bytes, Iterable[bytes]] = _file_chunks(path)
            params["entity_format"] = fmt
            headers = {"content-type": _CONTENT_TYPES[fmt], "content-length": str(os.stat(path).st_size)}
        else:
            body = _ipc_bytes(_to_arrow(entity_df))
            params["entity_format"] = "arrow"
            headers = {"content-type": _CONTENT_TYPES["arrow"]}
        return self._arrow_stream("POST", self._p("/historical-features"), content=body, headers=headers, params=params)

    def get_historical_features(self, entity_df: Any, features: Optional[Sequence[str]] = None, feature_service: Optional[str] = None, **kw) -> "pd.DataFrame":
        """A point-in-time-correct training set: each entity row joined with the feature values as of its time.
        entity_df: a DataFrame / pyarrow Table / file with the join keys and `timestamp_column`. Returns pandas."""
        return to_pandas(self.get_historical_features_arrow(entity_df, features, feature_service, **kw))

    def read_view(self, view: str, *, as_of_commit: Optional[int] = None, as_of: Optional[str] = None, latest: bool = False) -> pa.Table:
        params: dict = {}
        if as_of_commit is not None:
            params["as_of_commit"] = str(as_of_commit)
        if as_of:
            params["as_of"] = as_of
        if latest:
            params["latest"] = "true"
        return self._arrow_stream("GET", self._p(f"/feature-views/{view}/rows"), params=params)

    def get_online_features(
        self,
        features: Optional[Sequence[str]] = None,
        entities: Optional[Mapping[str, Sequence[Any]]] = None,
        feature_service: Optional[str] = None,
        full_feature_names: bool = False,
        as_dataframe: bool = False,
    ) -> Any:
        """Latest values from the online store, through the serving app (Feast's response shape, or a DataFrame)."""
        if not self._serving:
            raise ValueError("online reads go to the serving app: pass serving_url= to Client")
        body: dict = {"project": self.project, "entities": dict(entities or {}), "full_feature_names": full_feature_names}
        if feature_service:
            body["feature_service"] = feature_service
        else:
            body["features"] = list(features or [])
        res = self._check(self._serving.post("/get-online-features", json=body)).json()
        if not as_dataframe:
            return res
        if pd is None:
            raise ImportError("pandas is not installed")
        names = res["metadata"]["feature_names"]
        return pd.DataFrame({n: col["values"] for n, col in zip(names, res["results"])})
