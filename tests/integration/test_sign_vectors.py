# SPDX-License-Identifier: Apache-2.0
"""`kvsws sign` reproduces the AWS SigV4 test suite's signatures, in both modes, from the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from .helpers import clean_env, run_cli

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "sigv4"
CASES = sorted(p.name for p in VECTORS.iterdir() if (p / "context.json").exists())


def parse_request(text: str) -> tuple[str, str, list[str], str]:
    """request.txt: request line, Name:value headers (indented lines continue), blank, body."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]  # the path itself may hold a space
    headers: list[str] = []
    for line in lines[1:]:
        if not line:  # a request with no body may end in a lone newline
            continue
        if line[:1] in (" ", "\t") and headers:
            headers[-1] += "\n" + line
        else:
            headers.append(line)
    return method, target, headers, body


def sign_args(case: str, presign: bool) -> tuple[list[str], dict[str, str], dict]:
    ctx = json.loads((VECTORS / case / "context.json").read_text())
    method, target, headers, body = parse_request((VECTORS / case / "request.txt").read_text())
    host = next(h.split(":", 1)[1] for h in headers if h.lower().startswith("host:"))
    args = ["sign", "--method", method, "--url", f"https://{host}{target}",
            "--service", ctx["service"], "--region", ctx["region"],
            "--timestamp", "20150830T123600Z", "--output", "json"]
    for h in headers:
        args += ["--header", h]
    if ctx.get("sign_body") and not presign:
        # The suite adds a signed x-amz-content-sha256 header in this mode; so does a user.
        import hashlib
        args += ["--header", "x-amz-content-sha256:" + hashlib.sha256(body.encode()).hexdigest()]
    if body:
        args += ["--body", body]
    if not ctx["normalize"]:
        args.append("--no-normalize-path")
    if presign:
        args += ["--presign", "--expires", str(ctx["expiration_in_seconds"])]
    creds = ctx["credentials"]
    env = {"AWS_ACCESS_KEY_ID": creds["access_key_id"],
           "AWS_SECRET_ACCESS_KEY": creds["secret_access_key"]}
    if creds.get("token") and not ctx.get("omit_session_token"):
        env["AWS_SESSION_TOKEN"] = creds["token"]
    return args, env, ctx


def redacted(canonical_request: str, token: str | None) -> str:
    """The canonical request as `kvsws sign` shows it: the session token's value (raw in the
    header, percent-encoded in the query) replaced by its length and a short hash."""
    if not token:
        return canonical_request
    mark = f"<redacted: {len(token)} chars, sha256 {hashlib.sha256(token.encode()).hexdigest()[:8]}>"
    return canonical_request.replace(token, mark).replace(quote(token, safe=""), mark)


def test_there_are_38_cases() -> None:
    assert len(CASES) == 38


@pytest.mark.parametrize("mode", ["header", "query"])
@pytest.mark.parametrize("case", CASES)
def test_vector(kvsws_bin: Path, case: str, mode: str) -> None:
    args, env, ctx = sign_args(case, presign=mode == "query")
    if not ctx["sign_body"] and (VECTORS / case / "request.txt").read_text().partition("\n\n")[2]:
        pytest.fail("a case with a body but sign_body false would need the empty-body hash")
    out = run_cli(kvsws_bin, args, clean_env(None, **env))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    expected = (VECTORS / case / f"{mode}-signature.txt").read_text().strip()
    assert got["signature"] == expected
    if not ctx.get("omit_session_token"):
        creq = (VECTORS / case / f"{mode}-canonical-request.txt").read_text()
        assert got["canonical_request"] == redacted(creq, env.get("AWS_SESSION_TOKEN"))
        sts = (VECTORS / case / f"{mode}-string-to-sign.txt").read_text()
        assert got["string_to_sign"] == sts
    if mode == "query":
        assert f"X-Amz-Signature={expected}" in got["url"]
    else:
        assert got["headers"]["Authorization"].endswith("Signature=" + expected)


def test_sign_text_output_and_errors(kvsws_bin: Path) -> None:
    env = clean_env(None, AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                    AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    ok = run_cli(kvsws_bin, ["sign", "--method", "GET", "--url", "https://example.amazonaws.com/",
                             "--service", "service", "--region", "us-east-1",
                             "--timestamp", "20150830T123600Z"], env)
    assert ok.returncode == 0, ok.stderr
    assert "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/" \
           "aws4_request, SignedHeaders=host;x-amz-date, Signature=" \
           "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" in ok.stdout
    bad = run_cli(kvsws_bin, ["sign", "--method", "GET", "--url", "https://x/",
                              "--service", "s", "--region", "r", "--timestamp", "yesterday"], env)
    assert bad.returncode == 252 and "--timestamp" in bad.stderr
    assert "wJalrXUtnFEMI" not in bad.stderr + ok.stderr
