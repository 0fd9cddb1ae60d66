"""doctor: each check against the real Ray head, and a deliberately weakened setup."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.security.doctor import (
    FAIL,
    OK,
    WARN,
    JupyterFacts,
    check_ray_auth,
    check_token_file,
    jupyter_checks,
    run_doctor,
)
from tests.ray_versions import CAPS, requires_token_auth

SECURE = JupyterFacts(auth_enabled=True, xsrf_enabled=True, ip="127.0.0.1")


def _by_id(checks):
    return {c.id: c for c in checks}


def test_a_secure_jupyter_passes_and_each_weakness_is_reported_with_a_fix():
    assert {c.status for c in jupyter_checks(SECURE)} == {OK}
    weak = JupyterFacts(
        auth_enabled=False,
        xsrf_enabled=False,
        allow_origin="*",
        ip="0.0.0.0",
        proxy_enabled=True,
        proxy_hosts=("localhost", "10.0.0.5"),
        jobs_backend="ray",
    )
    checks = _by_id(jupyter_checks(weak))
    assert checks["jupyter_auth"].status == FAIL and checks["jupyter_auth"].fix
    assert (
        checks["jupyter_xsrf"].status == FAIL and "disable_check_xsrf" in checks["jupyter_xsrf"].fix
    )
    assert checks["jupyter_origin"].status == FAIL
    assert checks["jupyter_tls"].status == WARN and "HTTPS" in checks["jupyter_tls"].fix
    proxy = checks["server_proxy"]
    assert proxy.status == WARN and "10.0.0.5" in proxy.message and "host_allowlist" in proxy.fix
    assert "ray" in checks["jobs_backend"].message
    assert weak.insecure_reasons() == [
        "Jupyter authentication is disabled",
        "Jupyter's XSRF check is disabled",
        "allow_origin is '*'",
    ]
    assert SECURE.insecure_reasons() == []


def test_jupyter_server_proxy_as_installed_is_ok_and_a_wider_allowlist_warns():
    """The default install loads jupyter-server-proxy; its allowlist keeps it on this host."""
    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    from iog_jupyter.core.security.doctor import _proxy_hosts

    default = _proxy_hosts(ServerApp())
    assert default == ("localhost", "127.0.0.1")
    facts = JupyterFacts(auth_enabled=True, xsrf_enabled=True, proxy_enabled=True)
    checks = _by_id(jupyter_checks(JupyterFacts(**{**vars(facts), "proxy_hosts": default})))
    assert checks["server_proxy"].status == OK, checks["server_proxy"].message
    assert "this host's own ports only" in checks["server_proxy"].message
    wide = ServerApp(config=Config({"ServerProxy": {"host_allowlist": ["localhost", "db.lan"]}}))
    widened = JupyterFacts(**{**vars(facts), "proxy_hosts": _proxy_hosts(wide)})
    check = _by_id(jupyter_checks(widened))["server_proxy"]
    assert check.status == WARN and "db.lan" in check.message and "host_allowlist" in check.fix
    by_function = JupyterFacts(**{**vars(facts), "proxy_hosts": None})
    check = _by_id(jupyter_checks(by_function))["server_proxy"]
    assert check.status == WARN and "decided by a function" in check.message


@pytest.mark.ray
@requires_token_auth
def test_the_test_head_demands_its_token(ray_head):
    conn = RayConnection()
    try:
        report = run_doctor(conn, SECURE)
    finally:
        conn.close()
    checks = _by_id(report.checks)
    assert checks["ray_auth_mode"].status == OK, checks["ray_auth_mode"].message
    assert checks["ray_token_file"].status == OK
    # The test head is multi-node: some Ray ports bind beyond loopback, refusing calls without
    # a token.
    ports = checks["ray_ports"]
    assert ports.status == WARN and "demand the token" in ports.message, ports.message
    assert report.status == WARN
    token = open(ray_head.token_path).read().strip()
    assert token not in repr(report.model_dump(mode="json"))


@pytest.mark.ray
@requires_token_auth
def test_a_world_readable_token_file_fails_and_is_fixed(ray_head, tmp_path):
    weak = tmp_path / "token"
    shutil.copy(ray_head.token_path, weak)
    os.chmod(weak, 0o644)
    conn = RayConnection(token_path=str(weak))
    try:
        check = check_token_file(conn)
        assert check.status == FAIL and "644" in check.message and f"chmod 600 {weak}" in check.fix
        assert stat.S_IMODE(os.stat(weak).st_mode) == 0o644  # reporting changes nothing
        fixed = check_token_file(conn, fix=True)
        assert fixed.status == OK and stat.S_IMODE(os.stat(weak).st_mode) == 0o600
    finally:
        conn.close()


@requires_token_auth  # without token auth the check fails, whether or not Ray answers
def test_an_unreachable_ray_is_a_warning_not_a_pass():
    conn = RayConnection(address="127.0.0.1:9", dashboard_url="http://127.0.0.1:9")
    try:
        check = check_ray_auth(conn)
    finally:
        conn.close()
    assert check.status == WARN and "did not answer" in check.message


def test_loopback_addresses():
    from iog_jupyter.core.security.doctor import _is_loopback

    for host in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "localhost", "127.0.0.2"):
        assert _is_loopback(host), host
    for host in ("0.0.0.0", "::", "10.0.0.5", "::ffff:10.0.0.5", "", "example.org"):
        assert not _is_loopback(host), host


@pytest.mark.ray
@pytest.mark.skipif(CAPS.token_auth, reason="this Ray has token authentication")
def test_a_ray_without_token_auth_fails_with_the_fix(ray_head):
    """Ray before 2.52: `ray_auth_mode` fails whatever the ports answer, and says what to do."""
    conn = RayConnection()
    try:
        report = run_doctor(conn, SECURE)
    finally:
        conn.close()
    checks = _by_id(report.checks)
    auth = checks["ray_auth_mode"]
    assert auth.status == FAIL and report.status == FAIL
    assert f"Ray {CAPS.version} has no token authentication" in auth.message
    assert "run code for anyone" in auth.message
    assert "Firewall" in auth.fix and ">= 2.52" in auth.fix and "RAY_AUTH_MODE=token" in auth.fix
    # The fixture left a stale token in Ray's place: said, not fatal, never shown.
    assert (
        checks["ray_token_file"].status == WARN and "ignores it" in checks["ray_token_file"].message
    )
    if not CAPS.node_labels:
        assert checks["ray_version"].status == WARN
        assert "pool:<name>" in checks["ray_version"].message
    token = open(ray_head.token_path).read().strip()
    assert token not in repr(report.model_dump(mode="json"))
