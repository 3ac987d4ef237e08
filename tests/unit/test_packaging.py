"""Packaging files agree with each other: pyproject, conda.yaml, MLproject, the CLI."""

from __future__ import annotations

import tomllib

import yaml
from packaging.requirements import Requirement

from mlproject.train import parse_args
from tests.support.processes import REPO_ROOT


def _pyproject_requirements() -> dict[str, Requirement]:
    """The runtime dependencies plus the ``batch`` extra (conda.yaml serves every entry point)."""
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    listed = [*data["project"]["dependencies"], *data["project"]["optional-dependencies"]["batch"]]
    return {Requirement(r).name.lower(): Requirement(r) for r in listed}


def _conda() -> dict:
    return yaml.safe_load((REPO_ROOT / "conda.yaml").read_text())


def test_conda_yaml_pins_python_and_lists_every_dependency_under_pip_exactly_as_pyproject():
    conda = _conda()
    assert "python=3.11" in conda["dependencies"]
    pip_section = next(item for item in conda["dependencies"] if isinstance(item, dict))["pip"]
    conda_requirements = {Requirement(r).name.lower(): Requirement(r) for r in pip_section}
    pyproject = _pyproject_requirements()
    assert set(conda_requirements) == set(pyproject)
    for name, requirement in pyproject.items():
        other = conda_requirements[name]
        assert (other.specifier, other.extras) == (requirement.specifier, requirement.extras), name


def test_mlproject_declares_main_with_a_parameter_for_every_cli_option():
    project = yaml.safe_load((REPO_ROOT / "MLproject").read_text())
    assert project["conda_env"] == "conda.yaml"
    main = project["entry_points"]["main"]
    for name in main["parameters"]:
        assert f"--{name.replace('_', '-')} {{{name}}}" in main["command"]
    assert main["command"].startswith("python -m mlproject.train")


def test_the_mlproject_defaults_parse_as_cli_options():
    project = yaml.safe_load((REPO_ROOT / "MLproject").read_text())
    parameters = project["entry_points"]["main"]["parameters"]
    argv = []
    for name, spec in parameters.items():
        argv += [f"--{name.replace('_', '-')}", str(spec["default"])]
    options = parse_args(argv)
    assert options.seed == 42 and options.cv_folds == 5 and options.register is True
    assert options.summary_path is None


def test_mlproject_declares_batch_score_with_a_parameter_for_every_cli_option():
    from mlproject.batch.settings import parse_args as parse_batch_args

    project = yaml.safe_load((REPO_ROOT / "MLproject").read_text())
    entry = project["entry_points"]["batch_score"]
    assert entry["command"].startswith("python -m mlproject.batch")
    flags = {"input_path": "--input", "output_path": "--output"}
    given = {"input_path": "rows.csv", "output_path": "out"}
    argv = []
    for name, spec in entry["parameters"].items():
        flag = flags.get(name, "--" + name.replace("_", "-"))
        assert f"{flag} {{{name}}}" in entry["command"], name
        argv += [flag, given.get(name) or str(spec["default"])]
    settings = parse_batch_args(argv, environ={})
    assert settings.model_uri == "models:/iris-classifier@champion"
    assert settings.input_format == "csv" and settings.master == "local[*]"
    assert settings.overwrite is False
