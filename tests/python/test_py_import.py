# SPDX-License-Identifier: Apache-2.0
"""`import kvsws` and a first client stay quick: what a call does not need (dataclasses, inspect,
platform, typing, the storage session and its asyncio support, ...) is imported when first used.
Checked by the modules a fresh process holds, not by the clock, so it cannot flake."""

from __future__ import annotations

import os
import subprocess
import sys

import kvsws
from kvsws_emulator.testing import Emulator

PROGRAM = """
import sys
import kvsws
client = kvsws.Client(region_name="us-west-2", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
print(" ".join(sorted(sys.modules)))
"""

# Each costs milliseconds to import and no call needs it (logging is imported by the application
# that configures it; kvsws only looks for it).
NOT_AT_IMPORT = ["asyncio", "collections", "concurrent.futures", "contextlib", "contextvars", "dataclasses",
                 "datetime", "inspect", "json", "kvsws.config", "kvsws.session", "kvsws.type_defs", "logging",
                 "platform", "re", "threading", "typing"]


def _modules_after(program: str) -> set[str]:
    env = dict(os.environ, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return set(out.splitlines()[-1].split())


def test_import_and_a_client_import_nothing_a_call_does_not_need() -> None:
    modules = _modules_after(PROGRAM)
    assert {"kvsws", "kvsws._core", "kvsws.client", "kvsws.exceptions"} <= modules
    assert sorted(set(NOT_AT_IMPORT) & modules) == []


def test_a_call_reads_and_writes_no_json_text(emu: Emulator) -> None:
    """The core takes the input dict and gives the output and headers back as dicts: a call
    imports no json module (nor its re), and its answer is what json.loads made of it before."""
    emu.add_channel("import-json", storage=True)
    program = PROGRAM.replace('client = kvsws.Client(region_name="us-west-2", aws_access_key_id="AKIDEXAMPLE", '
                              'aws_secret_access_key="x")',
                              f"client = kvsws.Client(region_name={emu.region!r}, endpoint_url={emu.endpoint!r}, "
                              f"aws_access_key_id={emu.access_key_id!r}, "
                              f"aws_secret_access_key={emu.secret_access_key!r}, verify={emu.ca_bundle!r})\n"
                              "out = client.describe_media_storage_configuration(ChannelName='import-json')\n"
                              "assert out['MediaStorageConfiguration']['Status'] == 'ENABLED', out\n"
                              "assert out['ResponseMetadata']['HTTPHeaders']['x-amzn-requestid'], out")
    assert "out = client.describe_media_storage_configuration" in program
    modules = _modules_after(program)
    assert "json" not in modules


def test_the_lazy_names_arrive_when_used() -> None:
    modules = _modules_after(PROGRAM.replace("print(", "kvsws.Config, kvsws.StorageSession, client.meta\nprint("))
    assert {"dataclasses", "kvsws.config", "kvsws.session"} <= modules


def test_every_public_name_is_there() -> None:
    for name in kvsws.__all__:
        assert getattr(kvsws, name) is not None, name
    assert set(kvsws.__all__) <= set(dir(kvsws))
    assert kvsws.Config is kvsws.config.Config and kvsws.ClientMeta is kvsws.client.ClientMeta
    assert kvsws.StorageSession.__module__ == "kvsws.session"
