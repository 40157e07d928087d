"""Run the benchmarkkit CLI in this (fresh) process and print its peak memory on exit.

``python measured_cli.py ARGS…`` is ``benchmarkkit ARGS…`` plus one last line on stderr,
``BK_PEAK_KIB <n>``: the process's ``VmHWM`` (peak resident set) read from ``/proc/self/status``
as it exits. VmHWM belongs to the memory map that ``exec`` made new, so it is this command's own
peak; ``ru_maxrss`` would carry over the high-water mark of the (big) pytest process that forked
it. Nothing heavy is imported before the CLI, so start-up is timed as a user sees it.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path


def _peak_kib() -> int:
    try:
        with Path("/proc/self/status").open() as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _report() -> None:
    sys.stderr.write(f"\nBK_PEAK_KIB {_peak_kib()}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    atexit.register(_report)
    sys.argv = ["benchmarkkit", *sys.argv[1:]]
    from benchmarkkit.cli import main

    main()
