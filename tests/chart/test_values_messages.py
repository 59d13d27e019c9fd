"""Values errors a person can read, on Helm 3 and Helm 4 and in `validate --values`: a bad cron, a time
zone outside the IANA list (with "did you mean"), a `latest` tag, a tag or digest in the wrong image
key (`repository: evil/x:latest`, `tag: 1.0@sha256:...`), a malformed digest or registry, a bad quantity.
Each is one line under 200 characters (Helm's "Error: execution error at (...)" prefix included) that
names the key, shows the value (shortened) and says what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cogniverse_chart import CHART_DIR
from cogniverse_chart.errors import HelmError
from toolkit_utils import run_json

# (id, dotted key with [i] for list items, value, what the message must say)
CASES = [
    ("cron-minute", "workflows.cronWorkflows.dailyBackup.schedules[0]", "61 * * * *", 'minute "61" is not 0-59'),
    ("cron-weekday-7", "workflows.cronWorkflows.weeklyOptimization.schedules[0]", "0 3 * * 7", "is not 0-6, sun-sat"),
    ("cron-4-fields", "workflows.cronWorkflows.dailyOptimizationCheck.schedules[0]", "0 4 * *", "want 5 fields"),
    ("cron-month-name", "workflows.cronWorkflows.monthlyReports.schedules[0]", "0 6 1 foo *", 'month "foo"'),
    ("tz-typo", "workflows.cronWorkflows.dailyBackup.timezone", "Europe/Berln", 'did you mean "Europe/Berlin"?'),
    ("tz-region-typo", "workflows.cronWorkflows.dailyCleanup.timezone", "Europa/Berlin", 'did you mean "Europe/Berlin"?'),
    ("tz-unknown", "workflows.cronWorkflows.monthlyReports.timezone", "Mars/Olympus_Mons", "e.g. UTC, Europe/Berlin"),
    ("tz-lowercase", "workflows.cronWorkflows.dailyBackup.timezone", "europe/berlin", 'did you mean "Europe/Berlin"?'),
    ("tz-local", "workflows.cronWorkflows.dailyCleanup.timezone", "Local", "the controller host's zone"),
    ("tz-empty", "workflows.cronWorkflows.dailyOptimizationCheck.timezone", "", "the controller host's zone"),
    ("tz-long", "workflows.cronWorkflows.dailyBackup.timezone", "X" * 600, "not an IANA time zone"),
    ("cron-backwards", "workflows.cronWorkflows.dailyBackup.schedules[0]", "0 5-1 * * *", 'hour range "5-1" runs backwards'),
    ("cron-names-backwards", "workflows.cronWorkflows.dailyBackup.schedules[0]", "0 0 * * fri-mon", "runs backwards"),
    ("cron-every-bad", "workflows.cronWorkflows.dailyBackup.schedules[0]", "@every 1x", "want @every and a duration"),
    ("cron-every-zero", "workflows.cronWorkflows.dailyBackup.schedules[0]", "@every 0h0m", "a zero duration"),
    ("cron-long", "workflows.cronWorkflows.dailyBackup.schedules[0]", "0 0 * * " + "1," * 300 + "x", "is not 0-6"),
    ("tag-latest", "runtime.image.tag", "latest", "pin a version"),
    ("tag-latest-runner", "workflows.runner.image.tag", "latest", "or set image.digest"),
    ("repository-with-tag", "vespa.image.repository", "evil/x:latest", '"evil/x:latest": move the tag to image.tag'),
    ("repository-with-digest", "workflows.steps.create-phoenix-project.image.repository", "a/b@sha256:" + "0" * 64,
     '"a/b@sha256:00000000...": move the digest to image.digest'),
    ("repository-capitals", "runtime.image.repository", "Cogniverse/Runtime", "want a lowercase path"),
    ("repository-injection", "llm.image.repository", "a/b\ncommand: [sh]", '"a/b\\ncommand: [sh]": want e.g. team/app'),
    ("tag-with-digest", "workflows.runner.image.tag", "1.0@sha256:abc", "want no ':' or '@'; put a digest in image.digest"),
    ("tag-long", "phoenix.database.postgresql.image.tag", "a" * 300, "300 characters; a tag has at most 128"),
    ("tag-leading-dot", "tests.image.tag", ".1", "want e.g. 1.4.2"),
    ("tag-invisible", "runtime.image.tag", "1.0\u200b", '"1.0\\u200b": want e.g. 1.4.2'),  # shown, escaped
    ("repository-bidi-long", "workflows.steps.create-phoenix-project.image.repository", "t/\u202e\u00e9" * 40,
     '"t/\\u202e\\u00e9t/...": want e.g. team/app'),  # cut between escapes, never inside one
    ("digest-malformed", "vespa.image.digest", "sha256:zz", "want sha256: and 64 lowercase hex digits"),
    ("digest-uppercase", "runtime.image.digest", "sha256:" + "A" * 64, "64 lowercase hex digits"),
    ("registry-scheme", "global.imageRegistry", "https://reg.example.com", "no scheme"),
    ("registry-space", "llm.image.registry", "reg example", "want e.g. reg.example.com:5000/mirror"),
    ("memory-1Gx", "runtime.resources.limits.memory", "1Gx", "such as 500m, 2, 512Mi"),
    ("cpu-zero", "vespa.resources.requests.cpu", "0", "above 0"),
]


def _values(key: str, value: object) -> dict:
    """'a.b[0]', v -> {'a': {'b': [v]}}"""
    out: object = value
    for part in reversed(key.split(".")):
        name, _, index = part.partition("[")
        out = {name: [out] if index else out}
    return out  # type: ignore[return-value]


@pytest.mark.parametrize("key,value,says", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_helm_says_what_is_wrong_in_one_short_line(helm, render_chart, key: str, value: str, says: str) -> None:
    with pytest.raises(HelmError) as err:
        render_chart(_values(key, value), helm=helm)
    line = str(err.value).split("failed:\n", 1)[1].splitlines()[0]
    assert len(line) < 200 and key in line and says in line, f"{helm.label} ({len(line)} chars): {line}"


@pytest.mark.parametrize("key,value,says", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_values_says_the_same(capsys, tmp_path: Path, key: str, value: str, says: str) -> None:
    (tmp_path / "v.yaml").write_text(yaml.safe_dump(_values(key, value)))
    code, result = run_json(capsys, tmp_path, "validate", "--values", "v.yaml", "--chart", str(CHART_DIR))
    [finding] = result["findings"]
    assert code == 1 and finding["path"] == f"$.{key}" and says in finding["message"]
    assert finding["line"] > 1 and finding["file"] == "v.yaml"  # where the key is written


# The longest image key of the chart, with each image message: still one line under 200 characters.
LONGEST_IMAGE = "workflows.steps.create-phoenix-project.image"
IMAGE_FIELDS = [("tag", "latest"), ("tag", "1.0@sha256:" + "f" * 64), ("tag", "t" * 129), ("digest", "sha256:" + "z" * 64),
                ("registry", "https://registry.example.com"), ("registry", "a b"), ("repository", "x/y@sha256:0"),
                ("repository", "x/y:1.0"), ("repository", "X/Y" * 20), ("repository", "x y")]


@pytest.mark.parametrize("field,value", IMAGE_FIELDS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(IMAGE_FIELDS)])
def test_image_messages_stay_short_on_the_longest_key(helm, render_chart, field: str, value: str) -> None:
    image = {"repository": "team/app", field: value}
    with pytest.raises(HelmError) as err:
        render_chart(_values(LONGEST_IMAGE, image), helm=helm)
    line = str(err.value).split("failed:\n", 1)[1].splitlines()[0]
    assert len(line) < 200 and f"{LONGEST_IMAGE}.{field}: " in line, f"{helm.label} ({len(line)} chars): {line}"


def test_good_values_and_zones_pass(render_chart, helm) -> None:
    values = _values("workflows.cronWorkflows.dailyBackup.timezone", "America/Argentina/Buenos_Aires")
    values["workflows"]["cronWorkflows"]["dailyBackup"]["schedules"] = [
        "*/15 1-5,22 * JAN-mar Mon-fri", "@daily", "@every 1h30m", "0 0-0 * * sun-sat",
        "0,5,10,15,20,25,30,35,40,45,50,55 0,2,4,6,8,10,12,14,16,18,20,22 * * *"]
    values["runtime"] = {"resources": {"limits": {"memory": "1.5Gi", "cpu": 2}}}
    assert render_chart(values, helm=helm)
    values["runtime"] = {"resources": {"limits": {"memory": "1e9", "cpu": "2e0"}}}  # decimal exponents
    assert render_chart(values, helm=helm)


def test_zone_list_is_the_tz_database() -> None:
    """files/timezones.txt is generated (cogniverse-chart schema) from the tzdata package; `schema --check`
    fails when it drifts."""
    from cogniverse_chart import values_schema

    assert (CHART_DIR / values_schema.TIMEZONES_FILE).read_text() == values_schema.timezones_text()
    assert "Europe/Berlin\n" in values_schema.timezones_text() and "Factory" not in values_schema.timezones_text()


def test_editors_get_defaults_examples_and_the_schema() -> None:
    """values.schema.json carries values.yaml's defaults and examples of the formats above; every profile
    and ci/ scenario names the schema in a yaml-language-server modeline, so editors check as you type."""
    import json

    from cogniverse_chart import PROFILES_DIR

    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert schema["properties"]["runtime"]["properties"]["replicas"]["default"] == values["runtime"]["replicas"]
    for name in ("cronSchedule", "timezone", "quantity"):
        assert schema["definitions"][name]["examples"], name
    files = sorted(PROFILES_DIR.glob("*.yaml")) + sorted((CHART_DIR / "ci").glob("*.yaml")) + [CHART_DIR / "values.yaml"]
    for f in files:
        first = f.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), f
        assert (f.parent / first.split("=", 1)[1]).resolve() == (CHART_DIR / "values.schema.json").resolve(), f
