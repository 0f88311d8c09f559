"""The adapter over the inmem runtime's internals: a version guard, and a check of the shapes it
relies on (this fails when an upgrade changes them, before durability or retention break)."""

import inspect
from importlib import metadata

import pytest

from wwhd.core.errors import UnsupportedUpstream
from wwhd.server import upstream


def test_the_installed_versions_are_supported():
    upstream.check_supported_versions()


@pytest.mark.parametrize("version", ["0.17.0", "0.15.9", "1.0.0"])
def test_a_version_outside_the_range_stops_start_up_naming_it(monkeypatch, version):
    real = metadata.version
    monkeypatch.setattr(
        upstream.metadata, "version",
        lambda name: version if name == "langgraph-api" else real(name),
    )
    with pytest.raises(UnsupportedUpstream, match=f"langgraph-api {version} is installed"):
        upstream.check_supported_versions()


def test_the_runtime_internals_have_the_shapes_the_adapter_uses():
    from langgraph_api.schema import Thread
    from langgraph_api.serde import json_dumpb, json_loads
    from langgraph_runtime_inmem import database
    from langgraph_runtime_inmem.ops import Threads

    assert callable(json_dumpb) and callable(json_loads)
    store = database.GLOBAL_STORE
    assert callable(getattr(store, "sync", None)) and callable(getattr(store, "get", None))
    assert hasattr(database.connect(), "__aenter__")  # an async context manager
    parameters = list(inspect.signature(Threads.delete).parameters)
    assert parameters[:2] == ["conn", "thread_id"]
    # The fields a thread record carries: the runtime's own type lists them.
    assert upstream.THREAD_RECORD_KEYS <= set(Thread.__annotations__)
