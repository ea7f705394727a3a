# SPDX-License-Identifier: Apache-2.0
"""Packaging: the wheel scripts/build-wheel.sh makes (KVSWS_WHEEL, else built here) is a small abi3
manylinux wheel whose ELF files need only glibc and what the wheel carries; in a fresh venv it
imports, calls the emulator, and its `kvsws` command behaves exactly as the C executable. TLS still
verifies where libcurl's built-in CA path (Debian's) is missing. `pip install .` into a fresh venv
works too, and a missing -dev package stops the source build with the package's name."""

from __future__ import annotations

import json
import os
import re
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
README = ROOT / "README.md"
BUILD_TIMEOUT = 900
MAX_WHEEL_BYTES = 3_000_000
# What the ELF files may need from the system: glibc's own libraries (a subset of every manylinux
# policy's allowlist). libcurl, OpenSSL and friends must be inside the extension or the wheel.
SYSTEM_LIBS = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libgcc_s.so.1",
               "ld-linux-x86-64.so.2"}

# Python's own ssl (the system's OpenSSL) is loaded first and used after kvsws's calls: the OpenSSL
# linked into the extension must not clash with it.
SMOKE = textwrap.dedent("""
    import json, os, ssl, sys, urllib.request
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
    context = ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"])
    url = os.environ["AWS_ENDPOINT_URL_KINESIS_VIDEO"] + "/_emulator/state"
    with urllib.request.urlopen(url, context=context) as response:
        python_tls = response.status
    print(json.dumps({"file": kvsws.__file__, "version": kvsws.__version__, "name": info["ChannelName"],
                      "joined": joined, "error": error, "cwd": os.getcwd(), "python_tls": python_tls}))
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
    assert out["python_tls"] == 200
    assert out["error"] == ("An error occurred (ResourceNotFoundException) when calling the "
                            "DescribeSignalingChannel operation: The requested channel is not found or not active.")
    return out


def readelf(path: Path) -> str:
    return subprocess.run(["readelf", "-d", "--dyn-syms", "-W", str(path)], capture_output=True, text=True,
                          check=True).stdout


def needed(dynamic: str) -> set[str]:
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", dynamic))


def readme_wheel_commands() -> list[str]:
    """The shell lines of the README's Python section that build and install the wheel."""
    section = README.read_text(encoding="utf-8").split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", section, flags=re.S) if "scripts/build-wheel.sh" in b]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


@pytest.fixture(scope="module")
def wheel() -> Path:
    """dist/'s wheel: scripts/test-python.sh has just built it (KVSWS_WHEEL), else it is built here."""
    given = os.environ.get("KVSWS_WHEEL")
    if not given:
        proc = subprocess.run([str(ROOT / "scripts" / "build-wheel.sh")], cwd=ROOT, capture_output=True,
                              text=True, timeout=BUILD_TIMEOUT, check=False)
        assert proc.returncode == 0, f"scripts/build-wheel.sh failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    (built,) = (ROOT / "dist").glob("kvsws-*.whl")
    assert not given or Path(given).resolve() == built.resolve(), (given, built)
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("unpacked")
    zipfile.ZipFile(wheel).extractall(where)
    return where


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (its own pip, nothing else) where the README's install line ran as written."""
    where = tmp_path_factory.mktemp("wheel-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    (install,) = [line for line in readme_wheel_commands() if line.startswith("pip install ")]
    env = {**os.environ, "PATH": f"{where / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(where),
           "PIP_NO_INDEX": "1"}  # the wheel has no dependencies: nothing may come from an index
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(["bash", "-c", install], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT, check=False)
    assert proc.returncode == 0, f"{install}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return where


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=120, check=False)


def test_wheel_is_one_small_abi3_manylinux_wheel(wheel: Path) -> None:
    name = re.fullmatch(r"kvsws-(?P<version>[^-]+)-cp311-abi3-manylinux_2_(?P<glibc>\d+)_x86_64\.whl", wheel.name)
    assert name, wheel.name
    assert name["version"] == kvsws.__version__
    assert int(name["glibc"]) <= 36  # what this Debian 12 host's glibc can honestly promise, or older
    assert wheel.stat().st_size <= MAX_WHEEL_BYTES, f"{wheel.name}: {wheel.stat().st_size} bytes"


def test_wheel_contents(wheel: Path, unpacked: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"kvsws", "kvsws.libs", f"kvsws-{kvsws.__version__}.dist-info"}, top
    package = {n.removeprefix("kvsws/") for n in names if n.startswith("kvsws/")}
    assert {"__init__.py", "_cli.py", "client.py", "exceptions.py", "config.py", "type_defs.py", "py.typed",
            "_core.abi3.so"} <= package
    assert not [n for n in names if n.endswith((".h", ".a", ".cmake", ".pc", ".c", ".i"))]
    entry_points = (unpacked / f"kvsws-{kvsws.__version__}.dist-info" / "entry_points.txt").read_text()
    assert re.search(r"^kvsws = kvsws\._cli:main$", entry_points, re.M), entry_points
    # the licences of kvsws and of what is linked into it: curl, OpenSSL (Debian's copyright), cJSON
    licenses = f"kvsws-{kvsws.__version__}.dist-info/licenses/"
    found = {n.removeprefix(licenses) for n in names if n.startswith(licenses)}
    assert {"LICENSE", "NOTICE", "build-wheel/licenses/curl/COPYING", "build-wheel/licenses/openssl/copyright",
            "build-wheel/licenses/cjson/copyright"} <= found, found


def test_elf_files_need_only_glibc_and_the_wheel(unpacked: Path) -> None:
    vendored = {p.name for p in (unpacked / "kvsws.libs").iterdir()}
    elves = [unpacked / "kvsws" / "_core.abi3.so", *sorted((unpacked / "kvsws.libs").iterdir())]
    for elf in elves:
        outside = needed(readelf(elf)) - vendored - SYSTEM_LIBS
        assert not outside, f"{elf.name} needs {outside} from the system"
    dynamic = readelf(unpacked / "kvsws" / "_core.abi3.so")
    # libcurl and OpenSSL are linked in, not vendored: their symbols stay hidden with the core's
    assert not [lib for lib in needed(dynamic) | vendored if re.match(r"lib(curl|ssl|crypto|kvsws)\b", lib)]
    exported = [line.split()[-1] for line in dynamic.splitlines()
                if " GLOBAL " in line and " UND " not in line and " FUNC " in line]
    assert exported == ["PyInit__core"], exported  # no kvsws_*, curl_*, SSL_* symbol leaks out


def test_installed_wheel_loads_nothing_from_the_system_but_glibc(venv: Path) -> None:
    """No -dev package (nor libcurl4, libssl3, libcjson1) is needed at run time: ldd resolves every
    library of the installed extension inside the venv, but glibc's."""
    (ext,) = venv.glob("lib/python3*/site-packages/kvsws/_core.abi3.so")
    out = subprocess.run(["ldd", str(ext)], capture_output=True, text=True, check=True).stdout
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", out, re.M))
    assert resolved and "not found" not in out, out
    for lib, path in resolved.items():
        assert lib in SYSTEM_LIBS or Path(path).resolve().is_relative_to(venv.resolve()), f"{lib} => {path}"


def test_wheel_imports_and_calls_the_emulator_outside_the_tree(venv: Path, emu: Emulator, arn: str,
                                                                 tmp_path: Path) -> None:
    smoke(venv / "bin" / "python", venv, emu, arn, tmp_path)


def test_wheel_kvsws_command_is_the_c_executable(venv: Path, kvsws_bin: Path, emu: Emulator, arn: str,
                                                 tmp_path: Path) -> None:
    """Same stdout, stderr and exit code as build/kvsws, call for call (emulator calls included)."""
    env = emu.subprocess_env()
    env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = emu.access_key_id, emu.secret_access_key
    script = venv / "bin" / "kvsws"
    cases = [
        ["--version"],
        ["help"],
        [],
        ["no-such-command"],
        ["describe-signaling-channel", "--channel-arn", arn],
        ["describe-signaling-channel", "--channel-name", "no-such-channel"],
        ["join-storage-session", "--channel-arn", "not-an-arn"],
        ["--region", "us-east-1", "sign", "--method", "GET", "--url", "https://example.amazonaws.com/?Param1=value1",
         "--service", "service", "--region", "us-east-1", "--timestamp", "20150830T123600Z", "--output", "json"],
    ]
    codes = []
    for args in cases:
        ours, theirs = run([str(script), *args], env, tmp_path), run([str(kvsws_bin), *args], env, tmp_path)
        assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr), args
        codes.append(ours.returncode)
    assert codes == [0, 0, 252, 252, 0, 254, 252, 0]
    (readme_line,) = [line for line in readme_wheel_commands() if line.startswith("kvsws ")]
    on_path = {**env, "PATH": f"{venv / 'bin'}:{env['PATH']}"}
    version = subprocess.run(["bash", "-c", readme_line], env=on_path, cwd=tmp_path, capture_output=True, text=True,
                             timeout=60, check=True).stdout
    assert version == f"kvsws/{kvsws.__version__}\n"
    described = json.loads(run([str(script), *cases[4]], env, tmp_path).stdout)
    assert described["ChannelInfo"]["ChannelARN"] == arn


def in_mount_namespace(etc_ssl: Path, argv: list[str]) -> list[str]:
    """argv run with etc_ssl mounted over /etc/ssl, in a private mount namespace (root, or a user
    namespace otherwise): the machine's own /etc/ssl is untouched."""
    unshare = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--mount", "--map-root-user"]
    return [*unshare, "sh", "-c", 'mount --bind "$0" /etc/ssl && exec "$@"', str(etc_ssl), *argv]


def test_tls_finds_another_distributions_ca_bundle(venv: Path, emu: Emulator, arn: str, tmp_path: Path) -> None:
    """The wheel's libcurl was built on Debian and looks for /etc/ssl/certs/ca-certificates.crt. On a
    machine laid out like openSUSE (/etc/ssl/ca-bundle.pem, no certs/), with no CA bundle configured,
    the core finds the system bundle itself; with no bundle at all, the call fails as a TLS error."""
    env = emu.subprocess_env()
    env.pop("AWS_CA_BUNDLE")
    argv = [str(venv / "bin" / "kvsws"), "describe-signaling-channel", "--channel-arn", arn]
    suse = tmp_path / "suse-ssl"
    suse.mkdir()
    shutil.copy(emu.ca_bundle, suse / "ca-bundle.pem")
    found = run(in_mount_namespace(suse, argv), env, tmp_path)
    assert found.returncode == 0, found.stderr.decode()
    assert json.loads(found.stdout)["ChannelInfo"]["ChannelARN"] == arn
    empty = tmp_path / "no-ssl"
    empty.mkdir()
    missing = run(in_mount_namespace(empty, argv), env, tmp_path)
    assert missing.returncode == 255 and b"SSL validation failed" in missing.stderr, missing.stderr.decode()


def test_pip_install_dot_into_a_fresh_venv(emu: Emulator, arn: str, tmp_path: Path) -> None:
    """The README's command, run from the source tree, into a venv that has nothing yet."""
    venv = tmp_path / "venv"
    python = fresh_venv(venv)
    pip("--python", str(python), "install", ".", cwd=ROOT)
    smoke(python, venv, emu, arn, tmp_path)
    assert (venv / "bin" / "kvsws").exists()


@pytest.mark.parametrize(("define", "env", "message"), [
    ("-DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON", {}, "libcurl not found: install libcurl4-openssl-dev (Debian/Ubuntu)"),
    ("-DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON", {}, "OpenSSL 3 (libssl, libcrypto) not found: install libssl-dev"),
    ("-DKVSWS_BUILD_TESTS=OFF", {"PKG_CONFIG_LIBDIR": "/nonexistent"},
     "libcjson not found: install libcjson-dev (Debian/Ubuntu)"),
    ("-DCMAKE_DISABLE_FIND_PACKAGE_Python=ON", {}, "not found: install python3-dev (Debian/Ubuntu)"),
])
def test_missing_dependency_names_the_debian_package(define: str, env: dict[str, str], message: str,
                                                     tmp_path: Path) -> None:
    proc = subprocess.run(["cmake", "-S", str(ROOT), "-B", str(tmp_path / "build"), "-DKVSWS_BUILD_PYTHON=ON",
                           define], env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode != 0
    assert message in " ".join(proc.stderr.split()), proc.stderr
