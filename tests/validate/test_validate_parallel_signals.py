"""The forked child of a two-core validate (perf/parallel.py) ends with its parent (attack24d F11): after a
CI cancel's SIGTERM or a Ctrl-C the child ran on to the end of its half (6 s on 9.5 MB, a minute on 200 MB),
holding stdout and stderr open so the caller kept waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  k: v{i}\n"


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        out += [int(c) for c in children]
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_child_ends_with_its_parent(tmp_path: Path, sig: signal.Signals) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("---\n".join(CM.format(i=i) for i in range(300_000)))  # 22 MB: seconds per half
    env = dict(os.environ, COGNIVERSE_CHART_JOBS="2")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "cogniverse-chart"), "validate", str(big)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    children: list[int] = []
    while not children and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        children = _children(proc.pid)
    assert children, "validate did not split the 22 MB stream in two processes"
    time.sleep(0.3)
    assert _alive(children[0])
    proc.send_signal(sig)
    proc.wait(timeout=30)
    end = time.monotonic() + 1.5
    while _alive(children[0]) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(children[0]), "the child runs on after its parent ended"
