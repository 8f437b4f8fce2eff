"""The wheel and sdist build, and the installed wheel runs the README quickstart.

The wheel is installed into a fresh virtual environment with ``--no-deps
--no-index``; the dependencies come from this environment's site-packages
through a ``.pth`` file, so nothing is downloaded. The quickstart runs with its
working directory outside the checkout, and must import the installed copy.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str | Path, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    return out


def test_wheel_holds_the_package_typing_marker_and_license(dist: Path) -> None:
    (wheel,) = dist.glob("langchain_liaobots-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "langchain_liaobots/py.typed" in names
    assert "langchain_liaobots/emulator/__main__.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "docs/", "benchmarks/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert "Project-URL: Documentation" in text
    assert "Classifier: Typing :: Typed" in text
    assert "# langchain-liaobots" in text  # the README is the long description
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "liaobots-emulator = langchain_liaobots.emulator.__main__:main" in (
        zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def test_sdist_holds_the_sources_docs_and_license(dist: Path) -> None:
    (sdist,) = dist.glob("langchain_liaobots-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for name in ("LICENSE", "README.md", "pyproject.toml", "mkdocs.yml"):
        assert name in names
    assert "langchain_liaobots/py.typed" in names
    assert "docs/index.md" in names


def test_installed_wheel_runs_the_readme_quickstart(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("langchain_liaobots-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).strip()
    )
    # The dependencies: this environment's site-packages, after the venv's own.
    (site / "_dev_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        sys.executable, "-m", "pip", "--python", python, "install",
        "--no-deps", "--no-index", "--quiet", wheel,
    )  # fmt: skip

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = "\n".join(re.findall(r"```python\n(.*?)```", readme, re.S))
    script = tmp_path / "quickstart.py"
    script.write_text(
        "import langchain_liaobots\nprint(langchain_liaobots.__file__)\n" + quickstart,
        encoding="utf-8",
    )
    out = _run(python, script, cwd=tmp_path).splitlines()
    assert Path(out[0]).is_relative_to(venv)
    assert "You said: Hello!" in out
    assert "You said: Tell me a story" in out
    assert "   ai: get_weather returned: Sunny, 21 °C in Paris" in out
    assert "City(name='Paris', population=2102650)" in out

    help_text = _run(venv / "bin" / "liaobots-emulator", "--help", cwd=tmp_path)
    assert "Serve a Liaobots-compatible chat endpoint on 127.0.0.1." in help_text
