# SPDX-License-Identifier: Apache-2.0
"""The ``kvsws`` command that pip installs: the C command compiled into kvsws._core, run with this
process's arguments, so its output and exit codes are exactly the C executable's."""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

from . import _core


def main() -> NoReturn:
    # As a C program: Ctrl-C stops it and a closed pipe ends it quietly (Python would ignore both).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    # The bytes the shell passed (sys.argv decoded them with surrogateescape).
    sys.exit(_core.cli_run([b"kvsws", *(os.fsencode(arg) for arg in sys.argv[1:])]))


if __name__ == "__main__":
    main()
