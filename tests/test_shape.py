"""The package's shape: no import loops, and planning a render never loads torch."""

from __future__ import annotations

import subprocess
import sys

from bench.shape import layers, read_package
from tests.conftest import PRESETS, ROOT


def test_no_module_imports_itself_through_others():
    graph, _, _ = read_package()
    _, loops = layers(graph)
    assert loops == []


def test_planning_and_validating_do_not_load_torch():
    code = ("import sys, animator.preset, animator.batch.plan, animator.render.plan\n"
            "from animator.cli import main\n"
            f"assert main(['validate', {str(PRESETS / 'eigen-melt.yaml')!r}, {str(PRESETS / 'pan-gatys.yaml')!r}]) == 0\n"
            "assert 'torch' not in sys.modules, 'torch was loaded'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == 2
