"""The toolkit as a user gets it: the sdist and the wheel built from pyproject.toml, installed with pip
into a fresh venv in a temporary folder outside the checkout, run on a `helm create` chart, on this
repository's chart (named with --chart), and on a few Argo workflows.

Every command runs from the temporary folder; the ones that read a chart run under a Python audit hook
that records every file opened, and nothing under the checkout may be among them unless the command
names it. The dependencies come from the package index once (toolkit_utils.dependency_wheels), then
install with `--no-index --find-links`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from cogniverse_chart import DATA_DIR
from cogniverse_chart.helm import available_helms
from toolkit_utils import dependency_wheels

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
CHART = ROOT / "charts" / "cogniverse"
HELMS = {h.major: h.path for h in available_helms()}

#: Runs a command under an audit hook and prints (after the command's own output) the files it opened.
AUDITED = """
import json, sys
opened = set()
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        opened.add(args[0] if isinstance(args[0], str) else args[0].decode(errors="replace"))
sys.addaudithook(hook)
from cogniverse_chart.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
sys.stdout.flush()
print("\\n@@OPENED@@" + json.dumps(sorted(opened)))
sys.exit(code)
"""


def _run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist (from the checkout) and the wheel built from that sdist: what a release uploads."""
    out = tmp_path_factory.mktemp("dist")
    proc = _run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                 "print(b.build_sdist(sys.argv[1]))", str(out)], ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sdist = out / proc.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tar:
        tar.extractall(out / "src", filter="data")
    src = next((out / "src").iterdir())
    proc = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                 "-w", str(out), str(src)], out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"sdist": sdist, "wheel": next(out.glob("cogniverse_chart-*.whl"))}


@pytest.fixture(scope="module")
def venv(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the wheel installed by pip; returns its bin/ folder."""
    where = tmp_path_factory.mktemp("fresh")
    assert not where.resolve().is_relative_to(ROOT)
    proc = _run([sys.executable, "-m", "venv", "--without-pip", str(where / "v")], where)
    assert proc.returncode == 0, proc.stderr
    proc = _run([sys.executable, "-m", "pip", "--python", str(where / "v" / "bin" / "python"), "install",
                 "--quiet", "--no-index", "--find-links", str(dependency_wheels()), str(dist["wheel"])], where)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return where / "v" / "bin"


@pytest.fixture(scope="module")
def work(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the checkout holding `helm create demo`."""
    work = tmp_path_factory.mktemp("work")
    proc = _run([HELMS.get(4) or HELMS[3], "create", "demo"], work)
    assert proc.returncode == 0, proc.stderr
    return work


def cli(venv: Path, cwd: Path, *args: str, named: tuple[Path, ...] = ()) -> tuple[int, str, str]:
    """The installed cogniverse-chart, audited: fails when it opened a file of the checkout that is not
    under one of the `named` paths (the chart or files the command line names)."""
    env = {**os.environ, "HELM3": HELMS.get(3, ""), "HELM4": HELMS.get(4, ""), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    proc = _run([str(venv / "python"), "-c", AUDITED, *args], cwd, env=env)
    out, _, opened = proc.stdout.rpartition("\n@@OPENED@@")
    assert "Traceback" not in proc.stderr, proc.stderr
    files = [Path(p) for p in json.loads(opened or "[]")]
    stray = [str(p) for p in files if p.is_absolute() and p.resolve().is_relative_to(ROOT)
             and not any(p.resolve().is_relative_to(n.resolve()) for n in named)]
    assert not stray, f"{args}: read the checkout: {stray[:5]}"
    return proc.returncode, out, proc.stderr


def test_sdist_and_wheel_carry_their_data(dist: dict[str, Path]) -> None:
    """versions.env is a plain file in both (in the tree it links to the repository's one), with the same
    content; every schema bundle and template is there."""
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
        assert whl.read("cogniverse_chart/data/versions.env") == (ROOT / "versions.env").read_bytes()
    bundles = {f"cogniverse_chart/data/{p.name}" for p in DATA_DIR.glob("*.json.gz")}
    assert bundles and bundles <= names
    assert {"cogniverse_chart/templates/values-table.md.j2", "cogniverse_chart/data/PROVENANCE"} <= names
    # The maintainers' tools (tools/cogniverse_dev) stay in the checkout: a user installs the toolkit only.
    assert {n.split("/", 1)[0] for n in names if not n.startswith("cogniverse_chart-")} == {"cogniverse_chart"}
    with tarfile.open(dist["sdist"]) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("cogniverse_chart/data/versions.env"))
        assert member.isfile() and tar.extractfile(member).read() == (ROOT / "versions.env").read_bytes()


def test_version_and_help(venv: Path, work: Path) -> None:
    code, out, err = cli(venv, work, "--version")
    assert (code, out.strip()) == (0, f"cogniverse-chart {VERSION}"), err
    code, out, _ = cli(venv, work, "--help")
    assert code == 0 and "validate" in out and "check" in out


def test_every_command_on_a_helm_create_chart(venv: Path, work: Path) -> None:
    """Run in the chart's folder: the chart in front of it, its defaults as the one scenario, none of the
    Cogniverse-only checks (README markers, schema/ folder, guide workflows)."""
    demo = work / "demo"
    named = (demo,)
    code, out, err = cli(venv, demo, "-o", "json", "check", "--helm", "3", named=named)
    result = json.loads(out)
    assert code in (0, 1) and result["chart"] == str(demo) and list(result["profiles"]) == ["default"], err
    assert result["checked"] >= 3 and not any(f["rule"].startswith("generated/") for f in result["findings"])
    assert not any(f["rule"].startswith("schema/") for f in result["findings"]), result["findings"]
    code, out, err = cli(venv, demo, "render", named=named)
    assert code == 0 and "kind: Deployment" in out, err
    code, out, err = cli(venv, work, "lint", "--chart", "demo", "-o", "sarif", named=named)
    assert code in (0, 1) and json.loads(out)["version"] == "2.1.0", err
    code, out, err = cli(venv, demo, "validate", "--values", "values.yaml", "-o", "junit", named=named)
    assert code == 2 and "values.schema.json: not found" in err  # helm create writes no schema
    code, out, err = cli(venv, work, "package", "--chart", "demo", "-d", str(work), named=named)
    assert code == 0 and (work / "demo-0.1.0.tgz").exists(), err
    for args in (["schema", "--check"], ["docs", "--check"], ["generate", "--check"]):
        code, _, err = cli(venv, demo, *args, named=named)
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)


def test_commands_on_this_chart_named_with_chart(venv: Path, work: Path) -> None:
    """Outside the checkout, this chart runs with its own ci/*-values.yaml scenarios (chart-testing's)."""
    code, out, err = cli(venv, work, "-o", "json", "check", "--chart", str(CHART), "--helm", "4", named=(CHART,))
    result = json.loads(out)
    assert set(result["profiles"]) == {p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*-values.yaml")}
    assert code == 0 and result["summary"]["error"] == 0, [f for f in result["findings"] if f["severity"] == "error"]
    code, out, err = cli(venv, work, "schema", "--check", "--chart", str(CHART), "-o", "json", named=(CHART,))
    assert code == 0 and json.loads(out)["ok"] is True, err
    code, out, err = cli(venv, work, "generate", "--chart", str(CHART), "--from", "workflowtemplate/video-ingestion",
                         "-p", "tenant-id=acme", named=(CHART,))
    assert code == 0 and "workflowTemplateRef" in out, err
    code, out, err = cli(venv, work, "schemas", "list", "-o", "json")
    versions = {r["version"] for r in json.loads(out) if r["family"] == "k8s"}
    assert code == 0 and {"1.30", "1.33", "1.37"} <= versions, err


def test_argo_workflows_and_cluster_commands(venv: Path, work: Path) -> None:
    flows = ROOT / "workflows"
    code, out, err = cli(venv, work, "validate", str(flows), "--kube-version", "1.33", named=(flows,))
    assert code == 0 and "validate: ok" in out, err
    code, out, err = cli(venv, work, "lint", str(flows / "video-ingestion.yaml"), "-o", "github", named=(flows,))
    assert code == 0, out + err
    bad = work / "bad.yaml"
    bad.write_text((flows / "video-ingestion.yaml").read_text().replace("workflowTemplateRef", "workflowTemplateRf"))
    code, out, _ = cli(venv, work, "validate", str(bad), "-o", "github")
    assert code == 1 and out.startswith("::error file=") and ",line=" in out
    kubeconfig = work / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    for args in (["list"], ["submit", "video-ingestion"], ["trigger", "daily-backup"], ["wait", "wf-1"]):
        code, _, err = cli(venv, work, *args, "--kubeconfig", str(kubeconfig))
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)


def test_the_toolkit_never_imports_the_maintainers_tools():
    """tools/cogniverse_dev builds and checks the toolkit and is not in the wheel: an import of it from
    cogniverse_chart would break every pip install (and once made a gobuild <-> oracle import cycle)."""
    import ast

    package = ROOT / "tools" / "cogniverse_chart"
    offenders = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(package)}: {n}" for n in names if n.split(".")[0] == "cogniverse_dev"]
    assert offenders == []
