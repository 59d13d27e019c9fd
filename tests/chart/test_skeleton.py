"""The toolkit finds both Helm majors, and the committed values.schema.json matches its parts."""

from cogniverse_chart import values_schema
from cogniverse_chart.cli import main


def test_values_schema_is_generated_from_parts():
    assert values_schema.is_current(), "values.schema.json is stale: run `cogniverse-chart schema`"


def test_bootstrap_provides_helm3_and_helm4():
    from cogniverse_chart.helm import available_helms

    majors = sorted(h.major for h in available_helms())
    assert majors == [3, 4], f"expected Helm 3 and Helm 4 from scripts/bootstrap.sh, found {majors}"


def test_unknown_top_level_key_is_rejected_naming_the_key(helm, tmp_path):
    from cogniverse_chart.errors import HelmError
    from cogniverse_chart.render import RenderRequest, render
    import pytest

    with pytest.raises(HelmError, match="nosuchkey"):
        render(RenderRequest(set_values=["nosuchkey=1"]), helm)


def test_cli_unknown_profile_is_one_line_and_exit_2(capsys):
    assert main(["render", "--profile", "no-such-profile"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown profile 'no-such-profile'" in err[0]
