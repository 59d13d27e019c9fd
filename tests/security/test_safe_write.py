"""Every command that writes files (generate, docs, schema, annotations, render --out-dir) writes through one
safe writer (cogniverse_chart.safe_write): a symbolic link committed into the folder (a file or a
sub-folder) is refused by name and what it points at is left as it was; a file of the user's in an
output folder is never overwritten; `--check` calls a linked file stale (attack24c E1-E4, E41)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cogniverse_chart import CHART_DIR, generate, safe_write
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.generate import GENERATED_MARK, GeneratedFile
from toolkit_utils import helm_create, run_cli


def _victim(tmp_path: Path, name: str = "secret.txt") -> Path:
    victim = tmp_path / "victim" / name
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("precious\n")
    return victim


def _files() -> list[GeneratedFile]:
    return [GeneratedFile(Path("video-ingestion.yaml"), f"{GENERATED_MARK}\nkind: Workflow\n"),
            GeneratedFile(Path("templates") / "video-ingestion.yaml", f"{GENERATED_MARK}\nkind: WorkflowTemplate\n")]


def test_generate_refuses_a_linked_file_and_check_calls_it_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E1: the shape of the attack: `generate` in a checkout whose workflows/x.yaml is a link out of it."""
    victim = _victim(tmp_path)
    out = tmp_path / "wf"
    out.mkdir()
    (out / "video-ingestion.yaml").symlink_to(victim)
    code, _, err = run_cli(capsys, CHART_DIR, "generate", "--out-dir", str(out))
    assert code == 2 and "Traceback" not in err
    assert f"refusing to write {out / 'video-ingestion.yaml'}: it is a symbolic link (to {victim})" in err
    assert victim.read_text() == "precious\n"
    assert not (out / "templates").exists()  # everything is checked before the first file is written
    code, _, err = run_cli(capsys, CHART_DIR, "generate", "--check", "--out-dir", str(out))
    assert code == 1 and "video-ingestion.yaml" in err


def test_generate_refuses_a_linked_sub_folder(tmp_path: Path) -> None:
    """E2: workflows/templates -> a folder elsewhere holding the user's file of the same name."""
    victim = _victim(tmp_path, "video-ingestion.yaml")
    out = tmp_path / "wf"
    out.mkdir()
    (out / "templates").symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(ToolkitError, match=r"refusing to write .*wf/templates: it is a symbolic link"):
        generate.write(_files(), out)
    assert victim.read_text() == "precious\n" and sorted(p.name for p in victim.parent.iterdir()) == [victim.name]
    assert generate.drift(_files(), out) == ["video-ingestion.yaml", "templates/video-ingestion.yaml"]


def test_generate_never_overwrites_a_users_file_in_out_dir(tmp_path: Path) -> None:
    """E3: --out-dir holding the user's own restore.yaml (no generated header)."""
    out = tmp_path / "userdir"
    out.mkdir()
    (out / "video-ingestion.yaml").write_text("my own notes: keep\n")
    with pytest.raises(ToolkitError, match="refusing to overwrite .*video-ingestion.yaml: it was not written by"):
        generate.write(_files(), out)
    assert (out / "video-ingestion.yaml").read_text() == "my own notes: keep\n"
    (out / "video-ingestion.yaml").unlink()
    assert generate.write(_files(), out) and generate.write(_files(), out)  # its own files are rewritten
    assert generate.drift(_files(), out) == []


def test_writer_refuses_links_fifos_and_paths_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(_victim(tmp_path))
    with pytest.raises(ToolkitError, match="symbolic link"):
        safe_write.write_text(root / "link", "x", root=root)
    os.mkfifo(root / "fifo")
    with pytest.raises(ToolkitError, match="not a regular file"):  # and no hang waiting for a reader
        safe_write.write_text(root / "fifo", "x", root=root)
    with pytest.raises(ToolkitError, match="outside"):
        safe_write.write_text(root / ".." / "escape.txt", "x", root=root)
    assert safe_write.write_text(root / "a" / "b.txt", "ok", root=root).read_text() == "ok"
    assert (tmp_path / "victim" / "secret.txt").read_text() == "precious\n"


def _docs_chart(tmp_path: Path) -> Path:
    chart = helm_create(tmp_path, "dl")
    (chart / "values.schema.json").write_text(json.dumps({"type": "object", "properties": {
        "replicaCount": {"type": "integer", "description": "replicas"}}}))
    (chart / "README.md").write_text("# dl\n<!-- values-table:start -->\n<!-- values-table:end -->\n")
    return chart


@pytest.mark.parametrize("linked", ["values.yaml", "README.md"])
def test_docs_refuses_a_linked_chart_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], linked: str) -> None:
    """E4: the chart's values.yaml or README.md is a link to a file outside the chart."""
    chart = _docs_chart(tmp_path)
    victim = tmp_path / "victim" / linked
    victim.parent.mkdir()
    victim.write_text((chart / linked).read_text())
    before = victim.read_text()
    (chart / linked).unlink()
    (chart / linked).symlink_to(victim)
    code, _, err = run_cli(capsys, tmp_path, "docs", "--check", "--chart", str(chart))
    assert code == 1 and f"{chart / linked} is stale" in err
    code, _, err = run_cli(capsys, tmp_path, "docs", "--chart", str(chart))
    assert code == 2 and f"refusing to write {chart / linked}: it is a symbolic link" in err
    assert victim.read_text() == before


def test_render_out_dir_refuses_links_and_users_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E41: a committed folder of rendered manifests carrying a link (or the user's own file)."""
    chart = helm_create(tmp_path)
    out = tmp_path / "rdo"
    out.mkdir()
    victim = _victim(tmp_path, "r.txt")
    (out / "service-demo.yaml").symlink_to(victim)
    code, _, err = run_cli(capsys, tmp_path, "render", "--chart", str(chart), "--out-dir", str(out))
    assert code == 2 and "service-demo.yaml: it is a symbolic link" in err
    assert victim.read_text() == "precious\n"
    (out / "service-demo.yaml").unlink()
    (out / "service-demo.yaml").write_text("mine: keep\n")
    code, _, err = run_cli(capsys, tmp_path, "render", "--chart", str(chart), "--out-dir", str(out))
    assert code == 2 and "refusing to overwrite" in err and (out / "service-demo.yaml").read_text() == "mine: keep\n"
    (out / "service-demo.yaml").unlink()
    for _ in range(2):  # its own files are replaced on the next run
        code, out_text, err = run_cli(capsys, tmp_path, "render", "--chart", str(chart), "--out-dir", str(out))
        assert code == 0, err
    assert "kind: Service" in (out / "service-demo.yaml").read_text()


@pytest.mark.parametrize("command, target", [("schema", "values.schema.json"), ("annotations", "Chart.yaml")])
def test_schema_and_annotations_refuse_a_linked_target(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       command: str, target: str) -> None:
    """E4's siblings: values.schema.json and Chart.yaml are written only as regular files inside the chart;
    --check calls a link stale."""
    chart = tmp_path / "c"
    shutil.copytree(CHART_DIR, chart)
    victim = _victim(tmp_path, target)
    victim.write_text((chart / target).read_text())
    (chart / target).unlink()
    (chart / target).symlink_to(victim)
    code, _, err = run_cli(capsys, tmp_path, command, "--check", "--chart", str(chart))
    assert code == 1 and "stale" in err, err
    code, _, err = run_cli(capsys, tmp_path, command, "--chart", str(chart))
    assert code == 2 and f"refusing to write {chart / target}: it is a symbolic link" in err, err
    assert victim.read_text() == (CHART_DIR / target).read_text()


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    """attack24d F10: `docs` on a full disk (here: a file-size limit) cut the user's README.md to the limit,
    losing the rest of it; the writer now writes beside the file and renames, so the old file stays whole."""
    import subprocess
    import sys

    readme = tmp_path / "chart" / "README.md"
    readme.parent.mkdir()
    old = "# my chart\n" + "precious user docs line\n" * 3000  # 72 KB
    readme.write_text(old)
    readme.chmod(0o640)
    script = ("import resource, sys; from pathlib import Path; from cogniverse_chart import safe_write\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (40960, 40960))\n"
              "safe_write.write_text(Path(sys.argv[1]), 'new text\\n' * 9000, root=Path(sys.argv[1]).parent)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(readme)], capture_output=True, text=True)
    assert proc.returncode != 0 and "cannot write" in proc.stderr and "left as it was" in proc.stderr, proc.stderr
    assert readme.read_text() == old
    assert sorted(p.name for p in readme.parent.iterdir()) == ["README.md"]  # no temporary file left behind
    safe_write.write_text(readme, "short\n", root=readme.parent)
    assert readme.read_text() == "short\n" and (readme.stat().st_mode & 0o777) == 0o640  # the mode is kept
