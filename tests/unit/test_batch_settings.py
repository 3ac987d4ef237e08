"""The batch job's options, input digest and model resolution (no Spark started here)."""

from __future__ import annotations

import pytest

from mlproject.batch.lineage import UNREGISTERED, JobCounts, resolve_model
from mlproject.batch.reading import input_digest
from mlproject.batch.settings import format_of, parse_args
from mlproject.data import file_digest


def test_the_format_comes_from_the_extension_unless_given(tmp_path):
    assert format_of("rows.csv") == "csv"
    assert format_of("rows.CSV.gz") == "csv"
    assert format_of("rows.parquet") == "parquet"
    assert format_of(str(tmp_path)) == "parquet"  # a folder of part files
    assert format_of("rows.txt", "csv") == "csv"
    with pytest.raises(ValueError, match="--format"):
        format_of("rows.txt")


def test_the_model_uri_defaults_to_the_champion_of_the_configured_model(tmp_path):
    settings = parse_args(
        ["--input", "rows.csv", "--output", "out"],
        environ={"IRIS_MODEL_NAME": "other", "IRIS_MODEL_ALIAS": "challenger"},
    )
    assert settings.model_uri == "models:/other@challenger"
    assert settings.master == "" and settings.overwrite is False
    assert settings.predictions_dir.endswith("out/predictions")
    assert settings.input_path.startswith("/")  # recorded as an absolute path


def test_an_unknown_format_or_a_batch_over_the_pyfunc_limit_is_refused(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--input", "rows.json", "--output", "out"], environ={})
    assert "cannot tell the format" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--input", "a.csv", "--output", "o", "--rows-per-batch", "10001"], environ={})


def test_a_folder_digest_covers_its_data_files_and_ignores_spark_markers(tmp_path):
    single = tmp_path / "one.csv"
    single.write_text("a\n1\n")
    assert input_digest(str(single)) == file_digest(single)
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(b"first")
    (folder / "part-1.parquet").write_bytes(b"second")
    before = input_digest(str(folder))
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-0.parquet.crc").write_bytes(b"crc")
    assert input_digest(str(folder)) == before
    (folder / "part-1.parquet").write_bytes(b"changed")
    assert input_digest(str(folder)) != before
    assert input_digest("s3://bucket/rows.parquet") == ""


def test_a_path_model_uri_is_scored_as_given_and_recorded_unregistered():
    model = resolve_model("/models/iris", client=None, default_name="iris-classifier")
    assert (model.version, model.uri, model.name) == (
        UNREGISTERED,
        "/models/iris",
        "iris-classifier",
    )


def test_rows_per_second_is_zero_for_no_time():
    assert JobCounts(10, 9, 1, 0.0).rows_per_second == 0.0
    assert JobCounts(10, 9, 1, 2.0).rows_per_second == 5.0


def test_a_missing_input_or_an_existing_output_stops_the_job_before_spark(tmp_path, capsys):
    from mlproject.batch.__main__ import main

    rows = tmp_path / "rows.csv"
    assert main(["--input", str(rows), "--output", str(tmp_path / "out")]) == 2
    assert "no input at" in capsys.readouterr().err
    rows.write_text("sepal_length\n1\n")
    assert main(["--input", str(rows), "--output", str(tmp_path)]) == 2
    assert "--overwrite true" in capsys.readouterr().err
