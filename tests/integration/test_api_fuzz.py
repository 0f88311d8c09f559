"""A bounded schemathesis run against the server's own OpenAPI schema: no 5xx."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Not fuzzed here, each for a reason:
# - streaming, join and wait endpoints hold the connection open with heartbeats, so a fuzzer
#   waits on them forever (they are driven by the HTTP tests instead);
# - a2a and mcp are protocol bridges this product does not use;
# - /threads/{id}/storage answers a documented 501 whenever a custom checkpointer is
#   configured (langgraph-api reports storage for its built-in one only).
EXCLUDED = r"^/(a2a|mcp)|/stream|/join|/wait|^/threads/\{thread_id\}/storage$"


def test_no_server_errors_on_fuzzed_requests(shared_server, tmp_path):
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{shared_server.url}/openapi.json",
         "--checks", "not_a_server_error", "--phases", "examples,fuzzing",
         "--max-examples", "3", "--seed", "20261126", "--request-timeout", "30",
         "--exclude-path-regex", EXCLUDED, "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    assert "Tested:" in result.stdout
