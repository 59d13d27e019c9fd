"""The environment a guide runs in: a working directory that never changes the checkout, and PATH
with the repository's pinned tools and the argo CLI first."""

from __future__ import annotations

from pathlib import Path

#: What a guide's commands use from the repository (relative paths such as ./scripts/..., values/...).
WORKDIR_LINKS = ("scripts", "values", "charts", "tools", "images", "cluster", "versions.env", ".venv", ".tools",
                 "docs", "README.md")


def argo_cache() -> Path:
    """Where `local_cluster.sh build|up` puts its binaries: $COGNIVERSE_CLUSTER_CACHE/bin, as the script reads it."""
    import os

    return Path(os.environ.get("COGNIVERSE_CLUSTER_CACHE") or Path.home() / ".cache" / "cogniverse-local-cluster") / "bin"


def find_argo(path: str, version: str | None = None) -> str | None:
    """The directory of the `argo` CLI: on PATH, else the one `local_cluster.sh up` built (newest
    build of `version`, default ARGO_VERSION of versions.env)."""
    import os
    import shutil

    found = shutil.which("argo", path=path)
    if found:
        return os.path.dirname(found)
    if version is None:
        from cogniverse_chart import versions

        version = versions.get("ARGO_VERSION")
    bare = (version or "").lstrip("v")
    cache = argo_cache()
    builds = sorted({*cache.glob(f"argo-v{bare}-*/argo"), *cache.glob(f"argo-{bare}-*/argo")},
                    key=lambda p: p.stat().st_mtime, reverse=True)
    return str(builds[0].parent) if builds else None


def workdir(repo: Path, into: Path) -> Path:
    """A working directory for a guide run: the repository's files by symlink and a copy of
    workflows/ (which the guide regenerates for the release), so the checkout is never changed."""
    import shutil

    into.mkdir(parents=True, exist_ok=True)
    for name in WORKDIR_LINKS:
        if (repo / name).exists() and not (into / name).exists():
            (into / name).symlink_to(repo / name)
    if not (into / "workflows").exists():
        shutil.copytree(repo / "workflows", into / "workflows")
    return into


def environment(repo: Path, base: dict[str, str], argo_version: str | None = None) -> dict[str, str]:
    """PATH with the repository's pinned tools (and the argo CLI) first; the rest of `base` as is."""
    import os

    env = dict(base)
    path = os.pathsep.join([str(repo / ".tools" / "bin"), str(repo / ".venv" / "bin"), env.get("PATH", "")])
    argo_dir = find_argo(path, argo_version or env.get("ARGO_VERSION") or None)
    if argo_dir:
        path = argo_dir + os.pathsep + path
    env["PATH"] = path
    return env
