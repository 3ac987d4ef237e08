"""What HAProxy reads at the edge: the config (from haproxy.cfg.tmpl), slot maps, /slots page.

The backend ``scoring`` holds fixed server slots, ``<colour><n>``: blue1..blueN and
green1..greenN for the champion (one colour serves while the other takes the next
version), and canary1..canaryN kept for a challenger (issue 9). Slots start in
maintenance on a placeholder address; the supervisor points them at scoring processes
through the runtime API. Two map files say which model version and role each slot holds;
the ``/slots`` page on the metrics port renders them as ``iris_edge_slot_info``. Where
these files live is serving.edge_files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import resource
from collections.abc import Mapping
from pathlib import Path

from serving.edge_files import EdgeFiles, write_private
from serving.settings import EdgeSettings

logger = logging.getLogger(__name__)

TEMPLATE = Path(__file__).with_name("haproxy.cfg.tmpl")
BACKEND = "scoring"
COLOURS = ("blue", "green")
CANARY = "canary"
EMPTY = "none"  # map value of a slot that serves nothing
TOKEN_VARIABLE = "SCORING_TOKEN"  # nosec B105 # the variable's name, not its value
SERVER_WEIGHT = 100  # leaves room for canary shares in whole percent

# MLflow's error shape for every status HAProxy answers itself (see haproxy.cfg.tmpl).
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("MALFORMED_REQUEST", "the request is not valid HTTP/1.1"),
    401: ("UNAUTHENTICATED", "this endpoint needs Authorization: Bearer <SCORING_TOKEN>"),
    403: ("PERMISSION_DENIED", "forbidden"),
    404: ("ENDPOINT_NOT_FOUND", "not found"),
    405: ("BAD_REQUEST", "method not allowed"),
    408: ("DEADLINE_EXCEEDED", "the request did not arrive in time"),
    413: ("REQUEST_LIMIT_EXCEEDED", "the request body is over the limit of {max_body} bytes"),
    429: ("RESOURCE_EXHAUSTED", "too many requests are waiting; retry later"),
    500: ("INTERNAL_ERROR", "internal error at the edge"),
    501: ("NOT_IMPLEMENTED", "not implemented"),
    502: ("TEMPORARILY_UNAVAILABLE", "the scoring process failed to answer"),
    503: ("TEMPORARILY_UNAVAILABLE", "no scoring process is available; retry later"),
    504: ("DEADLINE_EXCEEDED", "the scoring process did not answer in time"),
}

# One JSON object per line. Client-controlled text goes through HAProxy's json converter.
LOG_FIELDS = (
    ('"ts"', "%Ts.%ms"),
    ('"request_id"', '"%[var(txn.request_id)]"'),
    ('"client"', '"%ci:%cp"'),
    ('"method"', '"%HM"'),
    ('"uri"', '"%[capture.req.uri,json(utf8s)]"'),
    ('"status"', "%ST"),
    ('"bytes_in"', "%U"),
    ('"bytes_out"', "%B"),
    ('"server"', '"%s"'),
    ('"model_version"', '"%[srv_name,map({versions_map},-)]"'),
    ('"request_ms"', "%TR"),
    ('"queue_ms"', "%Tw"),
    ('"connect_ms"', "%Tc"),
    ('"response_ms"', "%Tr"),
    ('"total_ms"', "%Ta"),
    # "%rc" is "+1" when the retry went to another server: a string, not a JSON number.
    ('"retries"', '"%rc"'),
    ('"termination"', '"%tsc"'),
)


def fit_to_fd_limit(edge: EdgeSettings) -> EdgeSettings:
    """``edge`` with ``max_connections`` lowered if HAProxy could not get the descriptors.

    HAProxy needs about two descriptors per proxied connection and raises its own limit
    to fit ``maxconn``; only root may go past the hard limit, so otherwise the cap is
    lowered here, with a warning, rather than leaving HAProxy short of descriptors.
    """
    if os.geteuid() == 0:
        return edge
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        return edge
    fits = max(64, (hard - 200) // 2 - 64)
    if edge.max_connections <= fits:
        return edge
    logger.warning(
        "the hard limit of %d open files holds %d connections, not %d: lowered "
        "(raise it with `ulimit -Hn` or run as root for more)",
        hard,
        fits,
        edge.max_connections,
    )
    return dataclasses.replace(edge, max_connections=fits)


def slot_names(slots_per_colour: int) -> dict[str, list[str]]:
    """Server names per group: ``{"blue": ["blue1", ...], "green": [...], "canary": [...]}``."""
    groups = (*COLOURS, CANARY)
    return {g: [f"{g}{i}" for i in range(1, slots_per_colour + 1)] for g in groups}


def render_config(
    edge: EdgeSettings,
    files: EdgeFiles,
    slots_per_colour: int,
    *,
    server_timeout: float,
    retries: int,
) -> str:
    """The HAProxy config text for these settings (a pure function, tested with haproxy -c)."""
    names = [name for group in slot_names(slots_per_colour).values() for name in group]
    values = {
        "admin_socket": str(files.admin_socket),
        "global_maxconn": str(edge.max_connections + 64),  # the metrics port, the CLI
        "hard_stop_after": _duration(edge.stop_timeout),
        "client_timeout": _duration(edge.client_timeout),
        "server_timeout": _duration(server_timeout),
        "http_request_timeout": _duration(edge.http_request_timeout),
        "keep_alive_timeout": _duration(edge.keep_alive_timeout),
        "queue_timeout": _duration(edge.queue_timeout),
        "retries": str(retries),
        "http_errors": "\n".join(_http_error(status, edge) for status in sorted(HTTP_ERRORS)),
        "public_bind": _bind(edge.host, edge.port),
        "max_connections": str(edge.max_connections),
        "log_format": _log_format(files),
        "auth_rules": _auth_rules(edge),
        "max_body": str(edge.max_body),
        "max_queue": str(edge.max_queue),
        "metrics_bind": _bind(edge.metrics_host, edge.metrics_port),
        "slots_lf": str(files.slots_page),
        "servers": "\n".join(
            f"    server {name} 127.0.0.1:1 disabled maxconn {edge.server_maxconn} "
            f"weight {SERVER_WEIGHT}"
            for name in names
        ),
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(f"@@{{{key}}}", value)
    leftover = re.search(r"@@\{\w+\}", text)
    if leftover:
        raise ValueError(f"haproxy.cfg.tmpl has an unknown placeholder {leftover.group()}")
    return text


def write_files(
    edge: EdgeSettings,
    files: EdgeFiles,
    slots_per_colour: int,
    *,
    server_timeout: float,
    retries: int,
) -> None:
    """Write the config (mode 600), both maps (every slot empty) and the /slots page."""
    names = [name for group in slot_names(slots_per_colour).values() for name in group]
    write_private(
        files.config,
        render_config(
            edge, files, slots_per_colour, server_timeout=server_timeout, retries=retries
        ),
    )
    for path in (files.versions_map, files.roles_map):
        write_private(path, "".join(f"{name} {EMPTY}\n" for name in names))
    lines = [
        "# HELP iris_edge_slot_info Model version and role each HAProxy server slot serves.",
        "# TYPE iris_edge_slot_info gauge",
    ]
    for name in names:
        lines.append(
            f'iris_edge_slot_info{{proxy="{BACKEND}",server="{name}",'
            f'model_version="%[str({name}),map({files.versions_map},{EMPTY})]",'
            f'role="%[str({name}),map({files.roles_map},{EMPTY})]"}} 1'
        )
    write_private(files.slots_page, "\n".join(lines) + "\n")


def haproxy_environment(edge: EdgeSettings, base: Mapping[str, str]) -> dict[str, str]:
    """HAProxy's environment: ``base`` with SCORING_TOKEN as the config expects it.

    The token never appears in the config file; HAProxy expands "${SCORING_TOKEN}" from
    its environment when it reads the config.
    """
    env = {k: v for k, v in base.items() if k != TOKEN_VARIABLE}
    if edge.token is not None:
        env[TOKEN_VARIABLE] = edge.token
    return env


def _http_error(status: int, edge: EdgeSettings) -> str:
    code, message = HTTP_ERRORS[status]
    body = json.dumps({"error_code": code, "message": message.format(max_body=edge.max_body)})
    return f"    http-error status {status} content-type application/json string '{body}'"


def _log_format(files: EdgeFiles) -> str:
    fields = ",".join(f"{name}:{value}" for name, value in LOG_FIELDS)
    return "{" + fields.replace("{versions_map}", str(files.versions_map)) + "}"


def _auth_rules(edge: EdgeSettings) -> str:
    if edge.token is None:
        return "    # SCORING_TOKEN unset: /invocations is open."
    # The token is not written here: HAProxy reads it from its environment at start.
    code, message = HTTP_ERRORS[401]
    body = json.dumps({"error_code": code, "message": message})
    return (
        "    # SCORING_TOKEN set: everything but the health routes needs the bearer token.\n"
        f"    http-request return status 401 content-type application/json string '{body}' "
        "hdr WWW-Authenticate Bearer if !{ path /ping /health /version } "
        f'!{{ req.hdr(authorization) -m str "Bearer ${{{TOKEN_VARIABLE}}}" }}'
    )


def _bind(host: str, port: int) -> str:
    return f"ipv6@{host.strip('[]')}:{port}" if ":" in host else f"{host}:{port}"


def _duration(seconds: float) -> str:
    ms = max(1, round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
