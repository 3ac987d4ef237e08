"""HAProxy's config as rendered for the edge: valid for haproxy itself, with its limits."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from serving.edge_config import haproxy_environment, slot_names, write_files
from serving.edge_files import edge_files
from serving.settings import EdgeSettings
from tests.support.edge import require_haproxy


def _render(tmp_path, **overrides):
    settings = EdgeSettings(port=15001, metrics_port=15404, **overrides)
    files = edge_files(tmp_path / "run")
    write_files(settings, files, 2, server_timeout=70, retries=30)
    return settings, files


@pytest.mark.parametrize("token", [None, "s3cret.token"])
def test_the_rendered_config_is_valid_for_haproxy(tmp_path, token):
    binary = require_haproxy()
    settings, files = _render(tmp_path, token=token)
    result = subprocess.run(
        [binary, "-c", "-f", str(files.config)],
        capture_output=True,
        text=True,
        env=haproxy_environment(settings, {}),
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_config_and_maps_are_private_and_the_token_is_not_in_them(tmp_path):
    settings, files = _render(tmp_path, token="s3cret.token")
    for path in (files.config, files.versions_map, files.roles_map, files.slots_page):
        assert path.stat().st_mode & 0o777 == 0o600, path
        assert "s3cret.token" not in path.read_text()
    assert files.folder.stat().st_mode & 0o777 == 0o700
    assert haproxy_environment(settings, {"SCORING_TOKEN": "old"})["SCORING_TOKEN"] == (
        "s3cret.token"
    )
    assert "SCORING_TOKEN" not in haproxy_environment(EdgeSettings(), {"SCORING_TOKEN": "x"})


def test_the_limits_from_the_settings_are_in_the_config(tmp_path):
    _, files = _render(tmp_path, max_body=1234, max_connections=777, http_request_timeout=7)
    text = files.config.read_text()
    assert "req.body_size gt 1234" in text
    assert "maxconn 777" in text
    assert "timeout http-request 7s" in text
    assert "retry-on conn-failure" in text and "retries 30" in text
    assert "option redispatch 1" in text
    assert "bind 127.0.0.1:15001" in text and "bind 127.0.0.1:15404" in text


def test_every_slot_is_a_server_in_maintenance_and_an_empty_map_entry(tmp_path):
    _, files = _render(tmp_path)
    names = [n for group in slot_names(2).values() for n in group]
    assert names == ["blue1", "blue2", "green1", "green2", "canary1", "canary2"]
    text = files.config.read_text()
    for name in names:
        assert f"server {name} 127.0.0.1:1 disabled" in text
    assert files.versions_map.read_text().splitlines() == [f"{n} none" for n in names]


def test_a_socket_path_haproxy_would_refuse_falls_back_to_a_private_temp_folder(tmp_path):
    binary = require_haproxy()
    deep = tmp_path / ("d" * 60)  # pytest's folder plus this is over HAProxy's 97 bytes
    settings = EdgeSettings(port=15001, metrics_port=15404)
    files = edge_files(deep)
    try:
        write_files(settings, files, 1, server_timeout=70, retries=30)
        result = subprocess.run(
            [binary, "-c", "-f", str(files.config)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert files.private_temp
    finally:
        shutil.rmtree(files.folder)


def test_a_run_dir_haproxy_cannot_use_falls_back_to_a_private_temp_folder(tmp_path):
    odd = tmp_path / "with space" / ("x" * 80)
    files = edge_files(odd)
    shutil.rmtree(files.folder)
    assert " " not in str(files.folder)
    assert len(str(files.admin_socket)) <= 97
    assert files.access_log == odd.resolve() / "access.log"


def test_the_connection_cap_fits_the_open_file_limit_haproxy_can_get(monkeypatch):
    import resource

    from serving.edge_config import fit_to_fd_limit

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, 1024))
    fitted = fit_to_fd_limit(EdgeSettings(max_connections=4096))
    assert fitted.max_connections == (1024 - 200) // 2 - 64
    assert fit_to_fd_limit(EdgeSettings(max_connections=100)).max_connections == 100
    monkeypatch.setattr("os.geteuid", lambda: 0)  # root: HAProxy raises its own limit
    assert fit_to_fd_limit(EdgeSettings(max_connections=4096)).max_connections == 4096
