"""The versioned data set: its shape, its digest, its split, its reproducibility."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from mlproject.config import CLASSES, FEATURES
from mlproject.data import export_iris, file_digest, load_dataset, split_dataset
from tests.support.processes import REPO_ROOT

DATA = REPO_ROOT / "data" / "iris.csv"


def test_the_csv_has_150_rows_the_specs_columns_and_50_of_each_species():
    dataset = load_dataset(DATA)
    assert list(dataset.frame.columns) == [*FEATURES, "species"]
    assert len(dataset.frame) == 150
    assert dataset.labels.value_counts().to_dict() == dict.fromkeys(CLASSES, 50)


def test_the_data_version_is_the_sha256_of_the_file_bytes():
    assert load_dataset(DATA).digest == hashlib.sha256(DATA.read_bytes()).hexdigest()


def test_the_documented_export_command_reproduces_the_committed_file(tmp_path):
    digest = export_iris(tmp_path / "iris.csv")
    assert digest == file_digest(DATA)


def test_the_split_is_stratified_and_the_same_for_the_same_seed():
    dataset = load_dataset(DATA)
    first = split_dataset(dataset, 0.2, 42)
    second = split_dataset(dataset, 0.2, 42)
    pd.testing.assert_frame_equal(first.test, second.test)
    assert first.y_test.value_counts().to_dict() == dict.fromkeys(CLASSES, 10)
    assert len(first.train) == 120


def test_a_csv_with_a_bad_value_is_refused_with_its_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(DATA.read_text().replace("5.1,3.5,1.4,0.2", "5.1,x,1.4,0.2", 1))
    with pytest.raises(ValueError, match="sepal_width.*rows \\[0\\]"):
        load_dataset(bad)


def test_a_csv_with_an_unknown_species_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(DATA.read_text().replace("setosa", "rose", 1))
    with pytest.raises(ValueError, match="unknown species"):
        load_dataset(bad)
