# SPDX-License-Identifier: Apache-2.0
"""Packaging: `pip wheel .` gives a self-contained wheel (the core compiled into the extension, no
libkvsws.so, no C headers) that installs into a fresh venv and works from outside the source tree;
`pip install .` into a fresh venv works too. Both builds are real, isolated pip builds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import kvsws
from kvsws_emulator.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 600

SMOKE = textwrap.dedent("""
    import json, os, sys
    import kvsws
    arn = sys.argv[1]
    with kvsws.Client() as client:
        info = client.describe_signaling_channel(ChannelARN=arn)["ChannelInfo"]
        joined = client.join_storage_session(channelArn=arn)
        try:
            client.describe_signaling_channel(ChannelName="no-such-channel")
            error = None
        except client.exceptions.ResourceNotFoundException as exc:
            error = str(exc)
    print(json.dumps({"file": kvsws.__file__, "version": kvsws.__version__, "name": info["ChannelName"],
                      "joined": joined, "error": error, "cwd": os.getcwd()}))
""")


def pip(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT, check=False)
    assert proc.returncode == 0, f"pip {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


def fresh_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path / "bin" / "python"


def smoke(python: Path, venv: Path, emu: Emulator, arn: str, cwd: Path) -> dict[str, object]:
    env = emu.subprocess_env()
    env.pop("PYTHONPATH", None)
    env["PYTHONNOUSERSITE"] = "1"
    proc = subprocess.run([str(python), "-c", SMOKE, arn], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    assert Path(str(out["file"])).resolve().is_relative_to(venv.resolve()), out
    assert out["version"] == kvsws.__version__ and out["name"] == "py-channel" and out["joined"] is None
    assert out["error"] == ("An error occurred (ResourceNotFoundException) when calling the "
                            "DescribeSignalingChannel operation: The requested channel is not found or not active.")
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    pip("wheel", "--no-deps", "-w", str(dist), str(ROOT), cwd=dist)
    (built,) = dist.glob("kvsws-*.whl")
    return built


def test_wheel_contents(wheel: Path, tmp_path: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"kvsws", f"kvsws-{kvsws.__version__}.dist-info"}, top
    package = {n.removeprefix("kvsws/") for n in names if n.startswith("kvsws/")}
    assert {"__init__.py", "client.py", "exceptions.py", "config.py", "type_defs.py", "py.typed"} <= package
    (ext,) = [n for n in package if n.startswith("_core.") and n.endswith(".so")]
    assert not [n for n in names if n.endswith((".h", ".a", ".cmake", ".pc", ".c", ".i"))]
    zipfile.ZipFile(wheel).extract(f"kvsws/{ext}", tmp_path)
    if shutil.which("readelf"):
        dynamic = subprocess.run(["readelf", "-d", "--dyn-syms", "-W", str(tmp_path / "kvsws" / ext)],
                                 capture_output=True, text=True, check=True).stdout
        assert "libkvsws" not in dynamic  # the core is compiled in
        exported = [line.split()[-1] for line in dynamic.splitlines()
                    if " GLOBAL " in line and " UND " not in line and " FUNC " in line]
        assert exported == ["PyInit__core"], exported  # no kvsws_* symbol leaks out


def test_wheel_installs_and_imports_outside_the_tree(wheel: Path, emu: Emulator, arn: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python = fresh_venv(venv)
    pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel), cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    smoke(python, venv, emu, arn, elsewhere)


def test_pip_install_dot_into_a_fresh_venv(emu: Emulator, arn: str, tmp_path: Path) -> None:
    """The README's command, run from the source tree, into a venv that has nothing yet."""
    venv = tmp_path / "venv"
    python = fresh_venv(venv)
    pip("--python", str(python), "install", ".", cwd=ROOT)
    smoke(python, venv, emu, arn, tmp_path)
