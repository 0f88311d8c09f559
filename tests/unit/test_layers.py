"""The package's import graph: layers import downward only, and nothing imports in a circle."""

import subprocess
import sys
from pathlib import Path

from devtools import layers


def test_the_layer_check_passes_on_the_package():
    result = subprocess.run(
        [sys.executable, "-m", "devtools.layers"], cwd=layers.REPO, capture_output=True,
        text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no upward import, no cycle" in result.stdout


def test_an_upward_import_and_a_cycle_are_reported(tmp_path: Path):
    module = tmp_path / "store.py"
    module.write_text("from wwhd.server.auth import auth\nfrom . import documents\n")
    found = layers.imports_of(module, "wwhd.tools.store")
    assert found == {"wwhd.server.auth", "wwhd.server.auth.auth", "wwhd.tools",
                     "wwhd.tools.documents"}
    assert layers.RANK[layers.layer_of("wwhd.server.auth")] > layers.RANK["wwhd.tools"]
    assert layers.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layers.cycles({"a": {"b"}, "b": set()}) == []
