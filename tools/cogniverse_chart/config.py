"""The chart in front of the toolkit, and the configuration file that tunes the toolkit for it.

Which chart: `--chart PATH`, else the `chart` the config file names, else the current directory when it
holds a Chart.yaml, else the only chart in ./charts/ (chart-testing's layout).

Which scenarios (the values sets `check` and `lint` render): the config's `scenarios` globs, else the
chart's `ci/*-values.yaml` (chart-testing's convention; the scenario of `ci/ha-values.yaml` is `ha`), else
the chart's defaults alone (`default`). `-f/--values` adds files to every scenario.

The config file: `--config FILE`, else the first `.cogniverse-chart.toml`, or pyproject.toml with a
`[tool.cogniverse-chart]` table, from the current directory upwards (up to the repository root, `.git`).
Paths in it are relative to the file. Keys (every one optional):

    chart = "charts/cogniverse"
    scenarios = ["values/*.yaml"]
    kube-versions = ["1.30", "1.37"]   # schemas validate/check use (default: the pinned floor and newest)
    argo-versions = ["3.7", "4.0"]
    kube-version = "1.37.2"            # helm template --kube-version
    release = "demo"                   # release name and namespace the chart is rendered with
    namespace = "demo"                 # (default: the chart's name)
    workflows-dir = "workflows"        # `generate`: the committed guide files (Cogniverse's own layout)
    diagrams = "docs/workflows-diagrams.md"  # `docs`: the workflow diagrams page
    docs = true                        # check the README values table (default: when the README has its markers)
    values-schema = true               # check values.schema.json against schema/ (default: when schema/ exists)
    [tool.cogniverse-chart.rules]      # in a dotfile: [rules]
    "policy/image-tag" = "warning"     # error | warning | info | off; a family ("policy/") sets all of it
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ToolkitError

DOTFILE = ".cogniverse-chart.toml"
TABLE = "cogniverse-chart"
SEVERITIES = ("error", "warning", "info", "off")
_KEYS = {"chart": str, "scenarios": list, "kube-versions": list, "argo-versions": list, "kube-version": str,
         "workflows-dir": str, "diagrams": str, "docs": bool, "values-schema": bool, "rules": dict,
         "release": str, "namespace": str}

#: Path settings the toolkit writes to: they must stay inside the config file's folder.
WRITTEN_PATHS = ("workflows-dir", "diagrams")
_EXAMPLES = {"workflows-dir": "workflows", "diagrams": "docs/workflows-diagrams.md"}


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the file it came from (None: no config file)
    table: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def label(self) -> str:
        if not self.path:
            return "default"
        return f"{self.path} [tool.{TABLE}]" if self.path.name == "pyproject.toml" else str(self.path)

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key, default)

    def relpath(self, key: str) -> Path | None:
        value = self.table.get(key)
        return (self.root / value) if value else None

    @property
    def rules(self) -> dict[str, str]:
        return dict(self.table.get("rules", {}))


def _inside(where: str, root: Path, key: str, value: str) -> None:
    """The paths the toolkit writes to (and deletes from) stay inside the config file's folder: no
    absolute path, no '..', no symlink leading out, so a config file in a pull request cannot reach the
    user's other files."""
    target, top = (root / value).resolve(), root.resolve()
    if Path(value).is_absolute() or ".." in Path(value).parts or (target != top and top not in target.parents):
        raise ToolkitError(f"{where}: {key} {value!r}: give a path inside the config file's folder {root}, "
                           f"without '..' (e.g. \"{_EXAMPLES[key]}\"); refused")


def _validate(path: Path, table: Any) -> dict[str, Any]:
    where = f"{path} [tool.{TABLE}]" if path.name == "pyproject.toml" else str(path)
    if not isinstance(table, dict):
        raise ToolkitError(f"{where}: expected a table of settings")
    for key, value in table.items():
        if key not in _KEYS:
            raise ToolkitError(f"{where}: unknown key '{key}'; known keys: {', '.join(_KEYS)}")
        want = _KEYS[key]
        if not isinstance(value, want) or (want is list and not all(isinstance(v, str) for v in value)):
            label = {str: "a string", list: "a list of strings", bool: "true or false", dict: "a table"}[want]
            raise ToolkitError(f"{where}: '{key}' must be {label}, got {value!r}"[:300])
        if want is list and not value:
            raise ToolkitError(f"{where}: '{key}' is empty: name at least one, or leave the key out for the default")
    for key in WRITTEN_PATHS:
        if key in table:
            _inside(where, path.parent, key, table[key])
    for key in ("kube-versions", "argo-versions", "kube-version"):
        for v in table[key] if isinstance(table.get(key), list) else [table[key]] if key in table else []:
            if not re.fullmatch(r"v?\d+\.\d+(\.\d+)?", v):
                raise ToolkitError(f"{where}: {key}: bad version {v!r}: expected MAJOR.MINOR or MAJOR.MINOR.PATCH "
                                   f"(e.g. 1.35)"[:300])
    if table.get("chart") == "":
        raise ToolkitError(f"{where}: chart = \"\": name the chart's folder, or leave the key out")
    for key in ("release", "namespace"):
        if key in table and (what := name_problem(key, table[key])):
            raise ToolkitError(f"{where}: {key} = {table[key]!r}: {what}"[:300])
    for rule, sev in table.get("rules", {}).items():
        if sev not in SEVERITIES:
            raise ToolkitError(f"{where}: rules.'{rule}' = {sev!r}: expected one of {', '.join(SEVERITIES)}")
        if not known_rule(rule):
            raise ToolkitError(f"{where}: rules.'{rule}': no such rule or family; see `cogniverse-chart lint "
                               f"--list-rules`"[:300])
    return table


#: Names Helm and Kubernetes take: a release (at most 53 characters) and a namespace (a DNS-1123 label).
_NAMES = [("release", re.compile(r"(?=.{1,53}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"),
           "a Helm release name: lowercase letters, digits, '-' and '.', at most 53 characters"),
          ("namespace", re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"),
           "a namespace name: lowercase letters, digits and '-', at most 63 characters")]


def name_problem(key: str, value: str) -> str | None:
    """What is wrong with a release or namespace name (None: nothing). Checked wherever a name reaches Helm:
    the release is Helm's positional argument, so one starting with '-' would be read as an option."""
    for name, pattern, what in _NAMES:
        if name == key and not pattern.fullmatch(value):
            return what
    return None


@functools.cache
def _rule_ids() -> tuple[frozenset[str], tuple[str, ...]]:
    """(rule ids, prefixes of templated ids such as schema/k8s-<minor>) that `lint --list-rules` shows."""
    from .commands.lint import OTHER_RULES
    from .lint import RULES

    ids = [*RULES, *(rid for rid, _ in OTHER_RULES)]
    return frozenset(i for i in ids if "<" not in i), tuple(i.split("<")[0] for i in ids if "<" in i)


def known_rule(key: str) -> bool:
    """Whether a rule id (`policy/image-tag`, `schema/k8s-1.30`) or a family (`policy`, `policy/`) names
    rules the toolkit has: a setting or suppression for anything else would silently do nothing."""
    ids, templated = _rule_ids()
    family = key.removesuffix("/")
    if "/" not in family:
        return any(i.startswith(family + "/") for i in ids)
    if key in ids:
        return True
    from .schemas import available  # schema/k8s-<minor>: a minor the package bundles (E24: `k8s-1.3` was taken)

    return any(key.startswith(t) and key[len(t):] in available(t.removeprefix("schema/").rstrip("-"))
               for t in templated)


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # imported only when there is a config file: start-up stays short without one

    from .documents import read_text  # one-line errors for unreadable, non-UTF-8 or directory paths

    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ToolkitError(f"{path}: not valid TOML: {exc}") from None
    except ValueError as exc:  # an integer too long for Python to read (over 4300 digits)
        raise ToolkitError(f"{path}: not valid TOML: {str(exc).split(';')[0]}") from None


def _tool_table(data: dict[str, Any]) -> Any:
    """pyproject.toml's [tool.cogniverse-chart], or None (also when `tool` is not a table at all)."""
    tool = data.get("tool")
    return tool.get(TABLE) if isinstance(tool, dict) else None


def read(path: Path) -> Config:
    """The config in `path`: a dotfile's top level, or pyproject.toml's [tool.cogniverse-chart]."""
    if path.is_dir():
        raise ToolkitError(f"--config {path}: is a directory; give a {DOTFILE} or pyproject.toml file")
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = _tool_table(data)
        if data is None:
            raise ToolkitError(f"{path}: has no [tool.{TABLE}] table")
    return Config(path.resolve(), _validate(path, data))


def find(start: Path) -> Config:
    """The nearest config file from `start` upwards (stopping after a directory with .git), or defaults.
    Like git's safe.directory, the search stops below a shared folder (sticky and writable by anyone: /tmp),
    and a config file another account owns is refused, naming it: another account's
    `/tmp/.cogniverse-chart.toml` with `schema = "off"` switched checks off for every run under /tmp."""
    for d in [start, *start.parents]:
        if _shared(d):
            break
        py = d / "pyproject.toml"
        in_py = py.is_file() and TABLE in read_text_limited(py) and _tool_table(_read_toml(py)) is not None
        if (d / DOTFILE).is_file():
            if in_py:  # two configs in one folder: the pyproject table was silently ignored (E27)
                raise ToolkitError(f"{d / DOTFILE} and {py} [tool.{TABLE}] both configure cogniverse-chart in one "
                                   f"folder: keep one (or pass --config FILE)")
            return read(_ours(d / DOTFILE))
        if in_py:
            return read(_ours(py))
        if (d / ".git").exists():
            break
    return Config()


def _shared(d: Path) -> bool:
    """A folder every account may write to and keep its own files in (sticky and o+w: /tmp, /var/tmp)."""
    import stat

    try:
        mode = d.stat().st_mode
    except OSError:
        return True
    return bool(mode & stat.S_IWOTH and mode & stat.S_ISVTX)


def _ours(path: Path) -> Path:
    """`path`, when the account running the toolkit owns it (or root does); else a one-line error (git's
    "dubious ownership"). Root trusts every file: a container job runs as root on a checkout another uid owns."""
    import os

    try:
        owner, me = path.stat().st_uid, os.getuid()
    except (OSError, AttributeError):  # no owners (Windows): as before
        return path
    if me != 0 and owner not in (me, 0):
        raise ToolkitError(f"{path}: owned by another account (uid {owner}, not {me}): not read as this run's "
                           f"config; pass --config {path} to use it, or remove it")
    return path


def read_text_limited(path: Path) -> str:
    """A pyproject.toml's text for the cheap "does it mention the tool" test, bounded like every input."""
    from .documents import read_text

    try:
        return read_text(path)
    except ToolkitError:
        return ""


@functools.cache
def load(explicit: str | None = None, cwd: str | None = None) -> Config:
    """--config FILE, else the nearest config file from the current directory."""
    if explicit is not None:
        if not explicit.strip():  # `--config "$CONFIG"` with the variable unset must not fall back silently (D40)
            raise ToolkitError("--config '': name a config file (pyproject.toml or .cogniverse-chart.toml), or leave "
                               "the option out to use the nearest one")
        if not Path(explicit).exists():
            raise ToolkitError(f"--config {explicit}: no such file")
        return read(Path(explicit))
    return find(Path(cwd or Path.cwd()).resolve())


def find_chart(explicit: Path | None, cfg: Config, cwd: Path | None = None) -> Path:
    """The chart the commands work on (see the module docstring); raises naming what was looked for."""
    if explicit is not None:
        chart = explicit
        if not chart.exists():
            raise ToolkitError(f"--chart {chart}: no such file or directory")
        if chart.is_dir() and not (chart / "Chart.yaml").is_file():
            raise ToolkitError(f"--chart {chart}: no Chart.yaml in it; give the folder of a Helm chart")
        if not chart.is_dir() and not (chart.is_file() and chart.name.endswith(".tgz")):
            raise ToolkitError(f"--chart {chart}: neither a chart folder nor a packaged chart (.tgz)")
        return chart
    named = cfg.relpath("chart")
    if named is not None:
        if not (named / "Chart.yaml").is_file():
            raise ToolkitError(f"{cfg.label}: chart = {cfg.get('chart')!r}: no Chart.yaml in {named}")
        return named
    here = Path(cwd or Path.cwd())
    if (here / "Chart.yaml").is_file():
        return here
    found = sorted(p.parent for p in (here / "charts").glob("*/Chart.yaml")) if (here / "charts").is_dir() else []
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(str(p) for p in found)
        raise ToolkitError(f"several charts here ({names}): pick one with --chart PATH")
    raise ToolkitError(f"no Helm chart here: {here} has no Chart.yaml (nor one chart in charts/); "
                       f"run in the chart's folder or pass --chart PATH")


def scenario_name(path: Path) -> str:
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    return stem.removesuffix("-values") or stem


def scenarios(chart: Path, cfg: Config) -> dict[str, Path | None]:
    """{name: values file} of the chart's scenarios; {"default": None} when it has none."""
    globs = cfg.get("scenarios")
    for g in globs or []:
        if Path(g).is_absolute() or ".." in Path(g).parts or not g.strip():
            raise ToolkitError(f"{cfg.label}: scenarios {g!r}: give a glob relative to the config file's folder, "
                               f"without '..' (e.g. \"ci/*-values.yaml\")")
    if globs:
        found = sorted({p for g in dict.fromkeys(globs) for p in _glob(cfg, g) if p.is_file()})
        if not found:
            raise ToolkitError(f"{cfg.label}: scenarios {globs} match no file under {cfg.root}")
        _stay_inside(found, cfg.root, cfg.label)
    elif chart.is_dir():
        found = sorted((chart / "ci").glob("*-values.yaml"))
        _stay_inside(found, _repository(chart), f"{chart / 'ci'}")
    else:
        found = []
    out: dict[str, Path | None] = {}
    for p in found:
        other = out.setdefault(scenario_name(p), p)
        if other != p:  # one would silently go unchecked
            raise ToolkitError(f"{cfg.label if globs else chart / 'ci'}: scenarios {other} and {p} have the same name "
                               f"{scenario_name(p)!r}: rename one of them (the name is the file name without "
                               f"-values and the extension)")
    return out or {"default": None}


def _glob(cfg: Config, pattern: str) -> list[Path]:
    """The files a scenarios glob matches; a pattern pathlib cannot use ('.', '**' inside a name) is one line."""
    try:
        return list(cfg.root.glob(pattern))
    except (ValueError, IndexError) as exc:
        why = str(exc) if isinstance(exc, ValueError) else "it names no file"
        raise ToolkitError(f"{cfg.label}: scenarios {pattern!r}: not a usable glob ({why}); "
                           f"e.g. \"ci/*-values.yaml\"") from None


def _repository(path: Path) -> Path:
    """The git repository a folder is in (the nearest folder above with .git), else the folder itself."""
    path = path.resolve()
    return next((d for d in [path, *path.parents] if (d / ".git").exists()), path)


def _stay_inside(files: list[Path], root: Path, label: str) -> None:
    """Scenario files are read from the project: a symlink leading out of it (to /etc/passwd, another
    user's files) is refused, as a '..' in a glob is."""
    root = root.resolve()
    for f in files:
        target = f.resolve()
        if target != root and root not in target.parents:
            raise ToolkitError(f"{label}: scenario {f} leads to {target}, outside {root}; refused")


def select(available: dict[str, Path | None], names: list[str] | None) -> dict[str, Path | None]:
    if not names:
        return available
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ToolkitError(f"unknown profile '{unknown[0]}'; known profiles (scenarios): {', '.join(available)}")
    return {n: available[n] for n in names}


def rule_setting(rule: str, cfg: Config) -> tuple[str | None, str]:
    """(configured severity or None, where it comes from) for one rule id: the longest matching key wins."""
    best = None
    for key in cfg.rules:
        if rule == key or (key.endswith("/") and rule.startswith(key)) or rule.startswith(key + "/"):
            if best is None or len(key) > len(best):
                best = key
    if best is None:
        return None, "default"
    return cfg.rules[best], f"{cfg.label} rules.{best!r}"
