"""The smoke-runner image (images/smoke-runner): its Go unit tests, and build.sh's real output.

`go test` checks the step contract (argument formats, exit codes, deterministic outputs).
The build tests run build.sh into a temporary directory and inspect the archives it packs:
the layer holds a static binary at /usr/local/bin/cogniverse-workflow, digests match, and a
second run is served from the cache. Importing into containerd is covered by the smoke suite
on a cluster (docs/smoke.md).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from cogniverse_chart import REPO_ROOT

RUNNER = REPO_ROOT / "images" / "smoke-runner"
GO = shutil.which("go")
needs_go = pytest.mark.skipif(GO is None, reason="go is not installed: the smoke runner cannot be built or tested")


@needs_go
def test_go_unit_tests_pass():
    # No -count=1: Go's test cache replays a pass only for unchanged sources, files and environment.
    proc = subprocess.run([GO, "test", "./..."], cwd=RUNNER, capture_output=True, text=True,
                          env={**os.environ, "CGO_ENABLED": "0"}, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_go
def test_go_vet_is_clean():
    proc = subprocess.run([GO, "vet", "./..."], cwd=RUNNER, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    if GO is None:
        pytest.skip("go is not installed: the smoke runner cannot be built")
    out = tmp_path_factory.mktemp("smoke-runner")
    proc = subprocess.run([str(RUNNER / "build.sh"), "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _blob(members: dict[str, bytes], digest: str) -> bytes:
    data = members["blobs/sha256/" + digest.removeprefix("sha256:")]
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest, f"blob {digest} does not match its digest"
    return data


OCI = "smoke-runner-0.1.0-amd64.oci.tar"
IMPORT = "import/smoke-runner-0.1.0-amd64.tar"


def test_build_prints_only_the_oci_archive_path_and_says_how_to_import(built):
    out, proc = built
    lines = proc.stdout.splitlines()
    assert lines == [str(out / OCI)]
    assert Path(lines[0]).is_file() and (out / IMPORT).is_file()
    assert f"ctr -n k8s.io images import {out / IMPORT}" in proc.stderr
    # only one *.tar at the top of --out: tools that import every archive there get the OCI one only
    assert [p.name for p in out.glob("*.tar")] == [OCI]


def test_oci_layout_is_complete_and_tagged(built):
    out, _ = built
    m = _members(out / OCI)
    assert json.loads(m["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = json.loads(m["index.json"])["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "cogniverse/smoke-runner:0.1.0"
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
    manifest = json.loads(_blob(m, entry["digest"]))
    config = json.loads(_blob(m, manifest["config"]["digest"]))
    (layer_desc,) = manifest["layers"]
    layer_gz = _blob(m, layer_desc["digest"])
    layer = gzip.decompress(layer_gz)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/cogniverse-workflow"]
    assert config["config"]["User"] == "65532:65532"
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        names = {t.name: t for t in tar.getmembers()}
        assert set(names) == {"tmp", "tmp/outputs", "usr", "usr/local", "usr/local/bin",
                              "usr/local/bin/cogniverse-workflow"}
        assert names["tmp"].mode == 0o1777 and names["usr/local/bin/cogniverse-workflow"].mode == 0o755
        binary = tar.extractfile("usr/local/bin/cogniverse-workflow").read()
    assert binary[:4] == b"\x7fELF"
    assert b"/lib64/ld-linux" not in binary, "the binary must be static (no dynamic loader)"


def test_import_archive_names_the_image_and_shares_the_blobs(built):
    out, _ = built
    oci = _members(out / OCI)
    imp = _members(out / IMPORT)
    (entry,) = json.loads(imp["manifest.json"])
    assert entry["RepoTags"] == ["cogniverse/smoke-runner:0.1.0"]
    for path in [entry["Config"], *entry["Layers"]]:
        assert imp[path] == oci[path]
    assert "index.json" not in imp, "containerd ignores manifest.json RepoTags when index.json is present"


def test_binary_runs_the_contract(built):
    out, _ = built
    proc = subprocess.run([str(out / "cogniverse-workflow"), "evaluate-results", "--tenant-id", "acme_corp",
                           "--baseline-score", "0.6", "--optimized-score", "0.66", "--improvement", "10",
                           "--improvement-threshold", "5"],
                          capture_output=True, text=True, env={"COGNIVERSE_OUTPUT_DIR": str(out / "outputs")})
    assert proc.returncode == 0, proc.stderr
    assert (out / "outputs" / "recommendation").read_text() == "deploy"
    proc = subprocess.run([str(out / "cogniverse-workflow"), "--version"], capture_output=True, text=True)
    assert proc.stdout.strip() == "cogniverse-workflow smoke-runner 0.1.0"


def test_second_build_is_cached_and_reproducible(built):
    out, _ = built
    archive = out / OCI
    before = archive.read_bytes()
    proc = subprocess.run([str(RUNNER / "build.sh"), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "up to date" in proc.stderr
    assert proc.stdout.strip() == str(archive)
    proc = subprocess.run([str(RUNNER / "build.sh"), "--out", str(out), "--force"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert archive.read_bytes() == before, "same sources must give the same archive bytes"


def test_build_rejects_unknown_flags():
    proc = subprocess.run([str(RUNNER / "build.sh"), "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown flag '--bogus'" in proc.stderr


def _runner_steps(docs) -> list[tuple[str, str, list[str]]]:
    """(object, template name, container args) of every container template that runs the step runner."""
    found = []
    for d in docs:
        if d.kind not in ("WorkflowTemplate", "CronWorkflow"):
            continue
        spec = d.obj["spec"]["workflowSpec"] if d.kind == "CronWorkflow" else d.obj["spec"]
        for t in spec.get("templates", []):
            c = t.get("container")
            if c and c.get("command") and Path(c["command"][0]).name == "cogniverse-workflow":
                found.append((f"{d.kind}/{d.name}", t["name"], [str(a) for a in c.get("args", [])]))
    return found


@pytest.mark.parametrize("profile", ["smoke", None], ids=["smoke-profile", "default-values"])
def test_chart_calls_every_runner_step_as_the_runner_accepts(built, render_chart, profile):
    """Every step the chart's workflows run exists in the runner with exactly the arguments it accepts."""
    out, _ = built
    contract = json.loads(subprocess.run([str(out / "cogniverse-workflow"), "--contract"], capture_output=True,
                                         text=True, check=True).stdout)
    steps = _runner_steps(render_chart(profile=profile))
    assert steps, "no workflow step runs cogniverse-workflow"
    problems = []
    for obj, template, args in steps:
        step, rest = args[0], args[1:]
        if step not in contract:
            problems.append(f"{obj} template {template}: unknown step {step!r}")
            continue
        names = rest[0::2]
        allowed = set(contract[step]["required"]) | set(contract[step]["optional"])
        bad = [n for n in names if not n.startswith("--") or n[2:] not in allowed]
        missing = [r for r in contract[step]["required"] if f"--{r}" not in names]
        if bad or missing or len(rest) % 2:
            problems.append(f"{obj} template {template} step {step}: unknown {bad}, missing {missing}")
    assert not problems, "\n".join(problems)
