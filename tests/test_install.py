"""The package carries its bundled presets and samples: a wheel installed outside the repository
lists and renders them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from animator.bundled import presets_folder
from tests.conftest import PRESETS, ROOT

NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "renders", "__pycache__", ".pytest_cache",
                                     "tests", "bench")


def test_this_install_finds_the_bundled_presets_in_the_repository():
    assert presets_folder().resolve() == PRESETS.resolve()  # the editable install maps animator.presets to presets/


@pytest.mark.slow
def test_a_wheel_installed_outside_the_repository_renders_a_bundled_preset(tmp_path):
    source = tmp_path / "source"  # a clean copy: setuptools' build/ folder would carry stale files into the wheel
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    run = lambda *args, **kw: subprocess.run([*map(str, args)], capture_output=True, text=True, check=True, **kw)  # noqa: E731
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("animator-*.whl")
    modules = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("animator/")}
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "animator").rglob("*.py")} <= modules  # every package listed
    assert {"animator/presets/melt.yaml", "animator/samples/chelsea.png", "animator/samples/pan.mp4"} <= modules

    # A fresh venv that sees this one's packages (torch and the rest) through a path line in a
    # .pth file; such a line does not run the .pth files in that folder, so this checkout's
    # editable install stays out of it.
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    (site / "outer.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed", wheel)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import animator; print(animator.__file__)", cwd=elsewhere).stdout
    assert where.startswith(str(site)), where
    listed = run(env / "bin" / "animator", "presets", cwd=elsewhere).stdout
    assert all(name in listed for name in ("melt", "pan-gatys", "three-styles"))
    run(env / "bin" / "animator", "render", "melt", "--set", "size=64", "--set", "iterate.steps=2", "--quiet", cwd=elsewhere)
    assert sorted(p.name for p in (elsewhere / "renders").iterdir()) == ["melt.gif", "melt.json", "melt.mp4"]
    # the commands that make the samples read the photographs where the package has them (they
    # looked beside the package's folder, the repository's top in a checkout: a traceback here)
    run(python, "-m", "animator.media.synthetic", elsewhere / "pan.mp4", cwd=elsewhere)
    run(python, "-m", "animator.music.soundtrack", elsewhere / "groove.m4a", cwd=elsewhere)
    assert (elsewhere / "pan.mp4").stat().st_size > 10_000 and (elsewhere / "groove.m4a").stat().st_size > 10_000
