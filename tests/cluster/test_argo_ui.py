"""Argo's real UI for argo server (cluster/argo/ui.sh), without building it: what each pinned version's
ui/yarn.lock needs from git, where that commit comes from (the git URL when it answers, else the
mirror folder COGNIVERSE_VENDOR_DIR), the archive checks, and the cache by version and source hash.

The yarn/webpack steps run through a stand-in `node` (a shell script that records its arguments and
writes dist/app) so the script's flow is checked in seconds; the real build runs in
`scripts/local_cluster.sh build`/`up` (cold 10-25 min, see docs/local-cluster.md).
"""

from __future__ import annotations

import gzip
import io
import hashlib
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from cogniverse_chart import versions
from test_argo_versions import ROOT, WRAPPERS, argo_sh, module_dir

COMMIT = "54f36c723d9a0e5d3386689298cbb9c27767fa00"  # the argo-ui commit both pinned versions lock


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def component_repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repository standing in for argo-ui: (its path, its commit)."""
    repo = tmp_path / "argo-ui.git"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "package.json").write_text('{"name": "argo-ui", "version": "1.0.0"}\n')
    (repo / "src").mkdir()
    (repo / "src" / "index.ts").write_text("export const x = 1;\n")
    # Larger than a pipe's buffer: the commit check reads the first tar header and closes its pipe.
    (repo / "src" / "font.bin").write_bytes(bytes(1 << 20))
    git("add", ".", cwd=repo)
    git("commit", "-qm", "c", cwd=repo)
    return repo, git("rev-parse", "HEAD", cwd=repo)


def ui_dir(tmp_path: Path, url: str, commit: str) -> Path:
    ui = tmp_path / "src" / "ui"
    ui.mkdir(parents=True)
    (tmp_path / "src" / "api" / "jsonschema").mkdir(parents=True)  # webpack copies api/ files into the UI
    (tmp_path / "src" / "api" / "jsonschema" / "schema.json").write_text("{}")
    (ui / "package.json").write_text('{"name": "argo-workflows-ui"}\n')
    (ui / "yarn.lock").write_text(f'"argo-ui@git+{url}#{commit}":\n  version "1.0.0"\n  resolved "git+{url}#{commit}"\n'
                                  'react@^18:\n  resolved "https://registry.example/react.tgz"\n')
    return ui


def pinned(archive: Path, commit: str) -> str:
    """The environment that pins `archive` as the archive of `commit` (versions.env's ARGO_UI_ARCHIVE_SHA256S)."""
    return f"ARGO_UI_ARCHIVE_SHA256S={commit}:{hashlib.sha256(archive.read_bytes()).hexdigest()}"


def vendor_archive(repo: Path, commit: str, vendor: Path, name: str = "argo-ui") -> Path:
    vendor.mkdir(exist_ok=True)
    out = vendor / f"{name}-{commit}.tar.gz"
    git("archive", "--format=tar.gz", f"--prefix={name}/", "-o", str(out), commit, cwd=repo)
    return out


FAKE_NODE = """#!/bin/bash
# Stand-in for node running yarn.js: records the call, then does what yarn would leave behind.
echo "node $* | NODE_OPTIONS=${NODE_OPTIONS:-} | nice=$(nice)" >>"$CALLS"
case "$2" in
  install) [[ -z "${FAIL_INSTALL:-}" ]] || { echo "error $FAIL_INSTALL" >&2; exit 1; }
           grep -o 'yarn-offline-mirror "[^"]*' "${@: -1}" | cut -d'"' -f2 | xargs ls >>"$CALLS" ;;
  build) mkdir -p dist/app && echo "<title>Argo</title>" >dist/app/index.html ;;
esac
"""


def fake_toolchain(tmp_path: Path) -> Path:
    """PATH with the stand-in node, and the pinned yarn's place in the cache filled (no npm pack)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").write_text(FAKE_NODE)
    (bin_dir / "node").chmod(0o755)
    yarn = tmp_path / "cache" / "tools" / f"yarn-{versions.load()['ARGO_UI_YARN_VERSION']}" / "bin" / "yarn.js"
    yarn.parent.mkdir(parents=True)
    yarn.write_text("")
    return bin_dir


# ---------------------------------------------------------------- the pinned versions
@pytest.mark.parametrize("minor", WRAPPERS)
def test_each_pinned_lockfile_takes_only_argo_ui_from_git_and_the_vendor_folder_holds_that_commit(minor, tmp_path):
    src = module_dir(minor)
    proc = argo_sh(minor, f"argo_ui_git_deps {src}/ui", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"https://github.com/argoproj/argo-ui.git {COMMIT}"]
    # Where the build looks for it: $COGNIVERSE_VENDOR_DIR, else shared/vendor beside the checkout.
    archive = Path(argo_sh(minor, f"argo_ui_archive {proc.stdout.split()[0]} {COMMIT}", tmp_path).stdout.strip())
    assert archive.name == f"argo-ui-{COMMIT}.tar.gz"
    assert archive.is_file(), f"{archive} missing: the offline UI build needs it (set COGNIVERSE_VENDOR_DIR)"
    found = subprocess.run(["git", "get-tar-commit-id"], input=gzip.decompress(archive.read_bytes()),
                           capture_output=True).stdout.decode().strip()
    assert found == COMMIT
    pins = dict(p.split(":") for p in versions.load()["ARGO_UI_ARCHIVE_SHA256S"].split(","))
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == pins[COMMIT], "versions.env pins another archive"


# ---------------------------------------------------------------- where argo-ui comes from
def test_unreachable_git_takes_the_commit_from_the_mirror_folder_as_yarn_reads_it(tmp_path):
    repo, commit = component_repo(tmp_path)
    url = "https://git.example.invalid/argoproj/argo-ui.git"
    ui = ui_dir(tmp_path, url, commit)
    archive = vendor_archive(repo, commit, tmp_path / "vendor")
    proc = argo_sh("3.7", f"COGNIVERSE_VENDOR_DIR={tmp_path}/vendor ARGO_UI_GIT_TIMEOUT=5 {pinned(archive, commit)} "
                          f"argo_ui_mirror {ui} {tmp_path}/mirror", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{url} is unreachable; commit {commit} comes from {tmp_path}/vendor/argo-ui-{commit}.tar.gz" in proc.stderr
    mirrored = tmp_path / "mirror" / f"argo-ui.git-{commit}"  # the name yarn's git fetcher looks for
    with tarfile.open(mirrored) as tar:  # plain tar, no top folder, like `git archive` without --prefix
        names = sorted(n.lstrip("./") for n in tar.getnames() if n not in (".", "./"))
    assert names == ["package.json", "src", "src/font.bin", "src/index.ts"]


def test_a_reachable_git_url_stays_the_first_choice(tmp_path):
    repo, commit = component_repo(tmp_path)
    ui = ui_dir(tmp_path, f"file://{repo}", commit)  # git answers for this URL
    vendor_archive(repo, commit, tmp_path / "vendor")
    proc = argo_sh("3.7", f"COGNIVERSE_VENDOR_DIR={tmp_path}/vendor argo_ui_mirror {ui} {tmp_path}/mirror", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"file://{repo} answers; yarn fetches commit {commit} from git" in proc.stderr
    assert list((tmp_path / "mirror").iterdir()) == []


def test_the_vendor_folder_defaults_to_shared_vendor_beside_the_checkout_or_the_main_one(tmp_path):
    main, _ = component_repo(tmp_path)  # a checkout with shared/vendor beside it, and a worktree without
    (tmp_path / "shared" / "vendor").mkdir(parents=True)
    git("worktree", "add", "-q", str(tmp_path / "wt" / "a"), cwd=main)
    for checkout, expected in ((main, f"{main}/../shared/vendor"), (tmp_path / "wt" / "a", f"{tmp_path}/shared/vendor")):
        proc = argo_sh("3.7", f"unset COGNIVERSE_VENDOR_DIR; ROOT={checkout}; argo_ui_vendor_dir", tmp_path)
        assert proc.stdout.strip() == expected, proc.stderr
    proc = argo_sh("3.7", f"COGNIVERSE_VENDOR_DIR={tmp_path}/mine argo_ui_vendor_dir", tmp_path)
    assert proc.stdout.strip() == f"{tmp_path}/mine"
    proc = argo_sh("3.7", f"unset COGNIVERSE_VENDOR_DIR; ROOT={tmp_path}/elsewhere; argo_ui_vendor_dir", tmp_path)
    assert proc.stdout.strip() == f"{tmp_path}/elsewhere/../shared/vendor"  # named in the error when missing


def test_a_missing_archive_names_the_dependency_the_file_and_the_variable(tmp_path):
    _, commit = component_repo(tmp_path)
    ui = ui_dir(tmp_path, "https://git.example.invalid/argoproj/argo-ui.git", commit)
    proc = argo_sh("4.0", f"COGNIVERSE_VENDOR_DIR={tmp_path}/none ARGO_UI_GIT_TIMEOUT=5 "
                          f"argo_ui_mirror {ui} {tmp_path}/mirror", tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"pins https://git.example.invalid/argoproj/argo-ui.git#{commit}" in proc.stderr
    assert f"{tmp_path}/none/argo-ui-{commit}.tar.gz" in proc.stderr and "COGNIVERSE_VENDOR_DIR" in proc.stderr


def test_an_archive_of_another_commit_or_not_from_git_is_refused(tmp_path):
    repo, commit = component_repo(tmp_path)
    (repo / "src" / "index.ts").write_text("export const x = 2;\n")
    git("commit", "-qam", "other", cwd=repo)
    other = git("rev-parse", "HEAD", cwd=repo)
    ui = ui_dir(tmp_path, "https://git.example.invalid/argoproj/argo-ui.git", commit)
    archive = vendor_archive(repo, other, tmp_path / "vendor")
    archive.rename(tmp_path / "vendor" / f"argo-ui-{commit}.tar.gz")  # right name, wrong commit inside
    body = f"COGNIVERSE_VENDOR_DIR={tmp_path}/vendor ARGO_UI_GIT_TIMEOUT=5 argo_ui_mirror {ui} {tmp_path}/mirror"
    proc = argo_sh("3.7", body, tmp_path)
    assert proc.returncode == 1
    assert f"is not a `git archive` of commit {commit} (git get-tar-commit-id says '{other}')" in proc.stderr
    (tmp_path / "vendor" / f"argo-ui-{commit}.tar.gz").write_bytes(gzip.compress(b"not a tar"))
    proc = argo_sh("3.7", body, tmp_path)
    assert proc.returncode == 1 and "says 'nothing'" in proc.stderr


def test_an_archive_is_built_only_when_its_bytes_match_the_pinned_sha256(tmp_path):
    """The commit id in a tar header is a label anyone can write: a tampered archive that carries the right
    one, and an archive whose commit has no pin, are refused before anything reaches yarn's mirror."""
    repo, commit = component_repo(tmp_path)
    ui = ui_dir(tmp_path, "https://git.example.invalid/argoproj/argo-ui.git", commit)
    genuine = vendor_archive(repo, commit, tmp_path / "genuine")
    pin = pinned(genuine, commit)
    (repo / "src" / "index.ts").write_text("evil();\n")  # same commit id in the header, other content
    forged = tmp_path / "vendor" / genuine.name
    forged.parent.mkdir()
    git("archive", "--format=tar.gz", "--prefix=argo-ui/", "-o", str(forged), commit, cwd=repo)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(forged.read_bytes()))) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    forged.write_bytes(gzip.compress(_retar(gzip.decompress(genuine.read_bytes()), members | {"argo-ui/src/index.ts": b"evil();\n"})))
    body = f"COGNIVERSE_VENDOR_DIR={tmp_path}/vendor ARGO_UI_GIT_TIMEOUT=5 {{}} argo_ui_mirror {ui} {tmp_path}/mirror"
    proc = argo_sh("3.7", body.format(pin), tmp_path)
    assert proc.returncode == 1 and "not the pinned" in proc.stderr and "ARGO_UI_ARCHIVE_SHA256S" in proc.stderr, proc.stderr
    assert not list((tmp_path / "mirror").glob("*")), "a refused archive reached yarn's mirror"
    proc = argo_sh("3.7", body.format(f"ARGO_UI_ARCHIVE_SHA256S={'0' * 40}:{'1' * 64}"), tmp_path)
    assert proc.returncode == 1 and f"no sha256 is pinned for the archive of" in proc.stderr and commit in proc.stderr


def _retar(original: bytes, contents: dict[str, bytes]) -> bytes:
    """A tar with `original`'s pax header (the commit id git archive writes) and the given files."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(original)) as src, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT,
                                                                         pax_headers=src.pax_headers) as dst:
        for name, data in sorted(contents.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out.getvalue()


# ---------------------------------------------------------------- build and cache
def test_cold_build_runs_frozen_lockfile_then_webpack_niced_with_a_heap_limit_and_warm_does_nothing(tmp_path):
    repo, commit = component_repo(tmp_path)
    ui = ui_dir(tmp_path, "https://git.example.invalid/argoproj/argo-ui.git", commit)
    archive = vendor_archive(repo, commit, tmp_path / "vendor")
    calls = tmp_path / "calls"
    env = (f"export PATH={fake_toolchain(tmp_path)}:$PATH CALLS={calls} COGNIVERSE_VENDOR_DIR={tmp_path}/vendor "
           f"ARGO_UI_GIT_TIMEOUT=5 {pinned(archive, commit)}; ")
    proc = argo_sh("3.7", env + f"argo_ui_build {ui.parent}", tmp_path)
    assert proc.returncode == 0, proc.stderr
    niced = f"nice={min(19, os.nice(0) + 10)}"  # both steps run 10 steps nicer than the caller
    install, mirrored, build = [line for line in calls.read_text().splitlines() if "--version" not in line]
    assert " install --frozen-lockfile " in install and "--use-yarnrc" in install and niced in install
    assert mirrored == f"argo-ui.git-{commit}"  # yarn saw the commit in its offline mirror
    assert build.split(" | ")[0].endswith(" build") and "--max-old-space-size=2048" in build and niced in build
    assert (ui / "dist" / "app" / "index.html").read_text() == "<title>Argo</title>\n"
    assert "UI built in" in proc.stderr and "(yarn install" in proc.stderr  # the cold time is printed
    assert "build argo-ui v3.7" in (tmp_path / "cache" / "timings.log").read_text()

    calls.unlink()
    (ui / "dist" / "app" / "index.html").unlink()
    proc = argo_sh("3.7", env + f"argo_ui_build {ui.parent}", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "yarn.js" not in calls.read_text(), "a warm run ran yarn"  # only `node --version`, for the key
    assert "UI cached in" in proc.stderr  # and the warm time
    assert (ui / "dist" / "app" / "index.html").is_file()

    (ui / "src").mkdir()
    (ui / "src" / "app.tsx").write_text("changed")  # another source: another key, a new build
    proc = argo_sh("3.7", env + f"argo_ui_build {ui.parent}", tmp_path)
    assert proc.returncode == 0 and " install --frozen-lockfile " in calls.read_text(), proc.stderr


def test_the_cache_key_follows_the_sources_not_the_build_output(tmp_path):
    ui = ui_dir(tmp_path, "https://git.example.invalid/argoproj/argo-ui.git", "0" * 40)
    key = lambda: argo_sh("3.7", f"argo_ui_key {ui.parent}", tmp_path).stdout.strip()  # noqa: E731
    first = key()
    (ui / "dist" / "app").mkdir(parents=True)
    (ui / "dist" / "app" / "main.js").write_text("x")
    (ui / "node_modules").mkdir()
    assert key() == first
    (ui / "yarn.lock").write_text((ui / "yarn.lock").read_text() + "\n")
    second = key()
    assert second != first and len(first) == 12
    (ui.parent / "api" / "jsonschema" / "schema.json").write_text('{"x": 1}')
    assert key() != second


def test_a_package_that_cannot_be_had_is_named_with_yarns_reason(tmp_path):
    repo, commit = component_repo(tmp_path)
    ui = ui_dir(tmp_path, "https://git.example.invalid/argoproj/argo-ui.git", commit)
    archive = vendor_archive(repo, commit, tmp_path / "vendor")
    reason = 'An unexpected error occurred: "https://registry.example/left-pad/-/left-pad-1.3.0.tgz: Request failed \\"404 Not Found\\""'
    env = (f"export PATH={fake_toolchain(tmp_path)}:$PATH CALLS={tmp_path}/calls COGNIVERSE_VENDOR_DIR={tmp_path}/vendor "
           f"ARGO_UI_GIT_TIMEOUT=5 {pinned(archive, commit)} FAIL_INSTALL='{reason}'; ")
    proc = argo_sh("4.0", env + f"argo_ui_build {ui.parent}", tmp_path)
    assert proc.returncode == 1
    assert "UI: yarn install --frozen-lockfile failed" in proc.stderr and "left-pad-1.3.0.tgz" in proc.stderr
    assert not (ui / "dist" / "app").exists()


# ---------------------------------------------------------------- the guide's screenshot
def test_the_guides_screenshot_of_the_ui_is_a_small_png_the_browser_test_takes():
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", guide)
    assert images, "docs/guide.md shows no screenshot of the UI"
    browser = (ROOT / "tests" / "smoke" / "test_browser.py").read_text(encoding="utf-8")
    for image in images:
        png = ROOT / "docs" / image
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
        assert len(data) < 200_000, f"{png} is {len(data)} bytes: keep the committed screenshot small"
        assert f'"{png.stem}"' in browser, f"{png.name} is not a screenshot tests/smoke/test_browser.py takes"
