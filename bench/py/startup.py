# SPDX-License-Identifier: Apache-2.0
"""Start-up: a fresh Python process imports the package and creates a client, 10 times each, for
kvsws and boto3 (its kinesis-video-webrtc-storage client). Reports the in-process time (import +
client, from the first line of the script) and the whole process's wall time (exec to exit).

    python startup.py [--runs N] [--wheel-python PYTHON] [--go-kvsws BINARY --go-sdk BINARY]

kvsws is measured as this interpreter has it (`pip install .`: the extension on Debian's shared
libcurl and its ~30 libraries) and, with --wheel-python, as the wheel installs it (`pip install
kvsws`: libcurl and OpenSSL linked in statically), in a venv of its own.

The Go programs (bench/go/cmd/startkvsws, startsdk) print their in-process time: NewClient, or
LoadDefaultConfig + NewFromConfig (Go has no import step to time: package init is in the process
time)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from common import arg, emit, fixtures

FX = fixtures()
CREDS = (f"region_name={FX['region']!r}, aws_access_key_id={FX['access_key_id']!r}, "
         f"aws_secret_access_key={FX['secret_access_key']!r}")
PROGRAMS = {
    "kvsws-py": f"import kvsws\nclient = kvsws.Client({CREDS})",
    "boto3": f"import boto3\nclient = boto3.client('kinesis-video-webrtc-storage', {CREDS})",
}
TEMPLATE = "import time\nt0 = time.perf_counter_ns()\n{body}\nprint(time.perf_counter_ns() - t0)\n"


def main() -> None:
    runs = int(arg("--runs", "10"))
    env = dict(os.environ, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    baseline = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        baseline.append(time.perf_counter_ns() - t0)
    emit(kind="startup", impl="python", lang="python", what="interpreter alone", process_ns=baseline)
    pythons = {"kvsws-py": sys.executable, "boto3": sys.executable}
    wheel_python = arg("--wheel-python", "")
    programs = dict(PROGRAMS)
    if wheel_python:
        programs = {"kvsws-py-wheel": PROGRAMS["kvsws-py"], **programs}
        pythons["kvsws-py-wheel"] = wheel_python
    for impl, body in programs.items():
        inproc, process = [], []
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            out = subprocess.run([pythons[impl], "-c", TEMPLATE.format(body=body)], check=True, env=env,
                                 capture_output=True, text=True).stdout
            process.append(time.perf_counter_ns() - t0)
            inproc.append(int(out.split()[-1]))
        emit(kind="startup", impl=impl, lang="python", inproc_ns=inproc, process_ns=process)
    for impl, flag in (("kvsws-go", "--go-kvsws"), ("aws-sdk-go-v2", "--go-sdk")):
        binary = arg(flag, "")
        if not binary:
            continue
        inproc, process = [], []
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            out = subprocess.run([binary], check=True, env=env, capture_output=True, text=True).stdout
            process.append(time.perf_counter_ns() - t0)
            inproc.append(int(out.split()[-1]))
        emit(kind="startup", impl=impl, lang="go", inproc_ns=inproc, process_ns=process)


if __name__ == "__main__":
    main()
