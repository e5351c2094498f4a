"""The suite runs against a real Strata server, serving app, worker and stack that the harness started
(apps/server/src/python-client.itest.ts); it reads their addresses from the environment."""

import os
import uuid

import pytest

from strata_client import Client


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run this suite through apps/server/src/python-client.itest.ts")
    return value


@pytest.fixture(scope="session")
def admin() -> Client:
    c = Client(_env("STRATA_TEST_SERVER_URL"), api_key=_env("STRATA_TEST_ADMIN_KEY"), project="admin")
    yield c
    c.close()


@pytest.fixture()
def project() -> str:
    return "py_" + uuid.uuid4().hex[:10]


@pytest.fixture()
def client(admin: Client, project: str) -> Client:
    """An editor key on a fresh project (created by the admin through the API)."""
    created = admin._json("POST", "/api/v1/keys", json={"name": f"pytest {project}", "roles": {project: "editor"}})
    c = Client(
        _env("STRATA_TEST_SERVER_URL"),
        api_key=created["key"],
        project=project,
        serving_url=_env("STRATA_TEST_SERVING_URL"),
    )
    yield c
    c.close()
