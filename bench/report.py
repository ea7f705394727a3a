# SPDX-License-Identifier: Apache-2.0
"""Turns the benchmark's JSON lines (bench/results/raw.jsonl) into the markdown table, checks the
correctness gates, and writes bench/results/latest.md and latest.json.

    python bench/report.py RAW.jsonl MACHINE.json OUT_DIR

Exit status 1 when a gate fails: signers that disagree on a signature, a benchmark that is
missing or failed, a scale run where not every session connected."""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

SIGNERS = [  # (impl, language, what it is)
    ("floor-lowlevel", "C", "bare SHA-256/HMAC, OpenSSL low-level SHA256_* (deprecated API)"),
    ("floor", "C", "bare SHA-256/HMAC, OpenSSL EVP, fetched once, contexts reused"),
    ("kvsws-c-core", "C", "kvsws core signer (kvi_sigv4_*), what calls and sessions use"),
    ("kvsws-c", "C", "kvsws_sign_request (public API)"),
    ("kvsws-py", "Python", "kvsws Client.sign_request"),
    ("botocore", "Python", "botocore SigV4Auth / SigV4QueryAuth"),
    ("awscrt", "Python", "awscrt.auth.aws_sign_request (aws-c-auth)"),
    ("kvsws-go", "Go", "kvsws Client.SignRequest"),
    ("aws-sdk-go-v2", "Go", "aws-sdk-go-v2 v4.Signer SignHTTP / PresignHTTP"),
]
CALLERS = [
    ("libcurl-floor", "C", "bare libcurl loop, one easy handle, fixed pre-signed headers"),
    ("kvsws-c", "C", "kvsws_join_storage_session / kvsws_describe_media_storage_configuration"),
    ("kvsws-py", "Python", "kvsws.Client"),
    ("boto3", "Python", "boto3 client"),
    ("kvsws-go", "Go", "kvsws.Client"),
    ("aws-sdk-go-v2", "Go", "aws-sdk-go-v2 kinesisvideo client"),
]


def med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def fmt(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def ratio(v: float | None, base: float | None) -> str:
    if v is None or not base:
        return "n/a"
    return f"{v / base:.2f}×"


def main() -> int:
    raw, machine_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    lines = [json.loads(line) for line in raw.read_text().splitlines() if line.startswith("{")]
    machine = json.loads(machine_path.read_text())
    problems: list[str] = []
    md: list[str] = []
    w = md.append

    w(f"Run {machine['date']} on {machine['machine']}.  ")
    w(f"Command: `{machine['command']}`{' (quick: too short to quote)' if machine.get('quick') else ''}.  ")
    w(f"Versions: {machine['versions']}.  ")
    w(f"Load average before the run: {machine['loadavg']}.")
    w("")

    # ---- signing -----------------------------------------------------------------------------
    sign: dict[tuple[str, str], dict] = {}
    for rec in lines:
        if rec["kind"] == "sign":
            sign[(rec["impl"], rec["op"])] = rec
    ops = ["header", "presign", "header-nocache"]
    gate: dict[str, set[str]] = defaultdict(set)
    for (_impl, op), rec in sign.items():
        if "signature" in rec and op != "header-nocache":
            gate[op].add(rec["signature"])
    w("### Signing: µs per signature (median of runs), and the ratio to the floor")
    w("")
    w("| signer | lang | JoinStorageSession headers | × floor | presigned WSS URL | × floor "
      "| headers, key derived each time | × floor |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    floor = {op: med(sign.get(("floor", op), {}).get("runs_ns")) for op in ops}
    for impl, lang, what in SIGNERS:
        cells = []
        for op in ops:
            rec = sign.get((impl, op))
            v = med(rec.get("runs_ns")) if rec else None
            if rec and "missing" in rec:
                cells += ["missing", ""]
                continue
            if rec is None and op != "header-nocache":
                problems.append(f"signing: no result for {impl} {op}")
            cells += [fmt(v / 1000 if v else None), ratio(v, floor[op]) if v else ""]
        w(f"| {impl} — {what} | {lang} | " + " | ".join(cells) + " |")
    w("")
    for op in ("header", "presign"):
        n = sum(1 for (impl, o), rec in sign.items() if o == op and "signature" in rec)
        if len(gate[op]) == 1:
            w(f"Gate ({op}): all {n} signers made the same signature `{next(iter(gate[op]))}`.  ")
        else:
            problems.append(f"signing gate: the {op} signatures differ: "
                            + ", ".join(f"{i}={r.get('signature')}" for (i, o), r in sign.items() if o == op))
    c_header, f_header = med(sign.get(("kvsws-c", "header"), {}).get("runs_ns")), floor["header"]
    if c_header and f_header:
        verdict = "met" if c_header <= 2 * f_header else "NOT met"
        w(f"Target \"kvsws C within 2× of the floor\" (headers, public API): {c_header / f_header:.2f}× — {verdict}.")
    w("")

    # ---- calls -------------------------------------------------------------------------------
    calls = {(r["impl"], r["op"]): r for r in lines if r["kind"] == "calls"}
    w("### Calls: round trips to a local nginx over TLS, keep-alive, one thread (median of runs)")
    w("")
    w("| client | lang | operation | latency p50 µs | latency p99 µs | client CPU µs/call "
      "| CPU × libcurl floor | threads |")
    w("|---|---|---|---:|---:|---:|---:|---:|")
    for op, opname in (("join", "JoinStorageSession"), ("describe", "DescribeMediaStorageConfiguration")):
        base = med(calls.get(("libcurl-floor", op), {}).get("cpu_ns"))
        for impl, lang, what in CALLERS:
            rec = calls.get((impl, op))
            if rec is None:
                if not (impl == "aws-sdk-go-v2" and op == "join"):
                    problems.append(f"calls: no result for {impl} {op}")
                continue
            cpu = med(rec["cpu_ns"])
            w(f"| {impl} — {what} | {lang} | {opname} | {fmt(med(rec['p50_ns']) / 1000, 1)} | "
              f"{fmt(med(rec['p99_ns']) / 1000, 1)} | {fmt(cpu / 1000, 1)} | {ratio(cpu, base)} | "
              f"{rec.get('threads', '')} |")
    w("")

    # ---- start-up ----------------------------------------------------------------------------
    starts = {r["impl"]: r for r in lines if r["kind"] == "startup"}
    w("### Start-up: import (or load) and create one client, fresh process each time (median)")
    w("")
    w("| what | lang | in-process ms | × kvsws | whole process ms | × kvsws |")
    w("|---|---|---:|---:|---:|---:|")
    # The Python base is what `pip install kvsws` gives (the wheel) when the run measured it.
    py_pairs = ("python", "kvsws-py-wheel", "kvsws-py", "boto3") if "kvsws-py-wheel" in starts else \
        ("python", "kvsws-py", "boto3")
    for lang, pairs in (("Python", py_pairs), ("Go", ("kvsws-go", "aws-sdk-go-v2"))):
        base_in = med(starts.get(pairs[1 if lang == "Python" else 0], {}).get("inproc_ns"))
        base_pr = med(starts.get(pairs[1 if lang == "Python" else 0], {}).get("process_ns"))
        for impl in pairs:
            rec = starts.get(impl)
            if rec is None:
                problems.append(f"start-up: no result for {impl}")
                continue
            label = {"python": "the interpreter alone (python -c pass)",
                     "kvsws-py-wheel": "import kvsws; kvsws.Client(...), the wheel (pip install kvsws)",
                     "kvsws-py": "import kvsws; kvsws.Client(...), built from source (pip install .)",
                     "boto3": "import boto3; boto3.client('kinesis-video-webrtc-storage', ...)",
                     "kvsws-go": "kvsws.NewClient (in-process) / the whole program",
                     "aws-sdk-go-v2": "config.LoadDefaultConfig + kinesisvideo.NewFromConfig"}[impl]
            vin, vpr = med(rec.get("inproc_ns")), med(rec.get("process_ns"))
            w(f"| {impl} — {label} | {lang} | {fmt(vin / 1e6 if vin else None)} | "
              f"{ratio(vin, base_in) if vin and impl != 'python' else ''} | {fmt(vpr / 1e6 if vpr else None)} | "
              f"{ratio(vpr, base_pr) if impl != 'python' else ''} |")
    w("")

    # ---- size and memory ---------------------------------------------------------------------
    w("### Size and memory")
    w("")
    w("| artifact | bytes | × kvsws |")
    w("|---|---:|---:|")
    sizes = [r for r in lines if r["kind"] == "size"]
    base_by_group: dict[str, int] = {}
    for r in sizes:
        if r.get("baseline"):
            base_by_group[r["group"]] = r["bytes"]
    for r in sizes:
        base = base_by_group.get(r["group"])
        w(f"| {r['what']} | {r['bytes']:,} | {ratio(r['bytes'], base) if base and not r.get('baseline') else ''} |")
    w("")
    w("| client | lang | what | bytes per client | × kvsws |")
    w("|---|---|---|---:|---:|")
    mems = [r for r in lines if r["kind"] == "memory"]
    lang_of = {"kvsws-c": "C", "kvsws-py": "Python", "boto3": "Python", "kvsws-go": "Go", "aws-sdk-go-v2": "Go"}
    kv_base = {(lang_of[r["impl"]], r["what"]): r["bytes_per_client"] for r in mems if r["impl"].startswith("kvsws")}
    for r in mems:
        base = kv_base.get((lang_of[r["impl"]], r["what"]))
        extra = f" (Go heap {r['go_heap_bytes_per_client']:,.0f})" if "go_heap_bytes_per_client" in r else ""
        extra += f" (created in {r['create_ns'] / 1000:.1f} µs)" if "create_ns" in r else ""
        w(f"| {r['impl']} | {lang_of[r['impl']]} | {r['what']}{extra} | {r['bytes_per_client']:,.0f} | "
          f"{ratio(r['bytes_per_client'], base) if not r['impl'].startswith('kvsws') else ''} |")
    w("")

    # ---- scale -------------------------------------------------------------------------------
    scale = [r for r in lines if r["kind"] == "scale"]
    w("### Scale: N storage sessions in one process, one application thread, one epoll set (kvsws C)")
    w("")
    w("| sessions | CA bundle | connected | all connected in s | connect CPU ms/session | KB per session "
      "| idle s | idle CPU µs/session/s | idle CPU % of a core | threads | fds/session | pings answered |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    server = {(r["sessions"], r.get("label", "")): r for r in lines if r["kind"] == "scale-server"}
    for r in scale:
        if r["connected"] != r["sessions"] or r["still_connected"] != r["sessions"]:
            problems.append(f"scale: {r['connected']} of {r['sessions']} sessions connected, "
                            f"{r['still_connected']} still connected after the idle time")
        pings = server.get((r["sessions"], r.get("label", "")), {}).get("pings", "n/a")
        w(f"| {r['sessions']} | {r.get('label', '')} | {r['connected']} | {r['connect_s']:.2f} | "
          f"{r['connect_cpu_ms_per_session']:.2f} | {r['kb_per_session']:.0f} | {r['idle_s']:.0f} | "
          f"{r['idle_cpu_us_per_session_per_s']:.2f} | {r['idle_cpu_percent']:.2f} | "
          f"{r['threads']} | {r['fds_per_session']:.1f} | {pings} |")
    w("")
    for r in lines:
        if r["kind"] == "error":
            problems.append(r["message"])
    if problems:
        w("### Problems")
        w("")
        for p in problems:
            w(f"- {p}")
        w("")

    text = "\n".join(md)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.md").write_text(text + "\n")
    (out_dir / "latest.json").write_text(json.dumps({"machine": machine, "results": lines, "problems": problems},
                                                    indent=1) + "\n")
    print(text)
    if problems:
        print("\nbench: FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
