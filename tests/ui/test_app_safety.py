"""app.py refuses to serve beyond this machine without a password and never opens a share link."""

from __future__ import annotations

import pytest

import app


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_password(host):
    assert app.is_loopback(host)
    app.check_safety(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "studio.example.org"])
def test_other_hosts_refuse_to_start_without_auth(host):
    assert not app.is_loopback(host)
    with pytest.raises(ValueError, match="Refusing to listen"):
        app.check_safety(host, None)
    app.check_safety(host, ("me", "secret"))


def test_main_exits_with_a_clear_error_before_binding(monkeypatch, capsys, db_url):
    monkeypatch.delenv(app.AUTH_ENV, raising=False)
    assert app.main(["--db", db_url, "--host", "0.0.0.0", "--no-worker"]) == 2
    assert "Refusing to listen on 0.0.0.0" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nocolon", ":pw", "user:", ""])
def test_auth_must_be_user_colon_password(value):
    if value == "":
        assert app.parse_auth(value) is None
        return
    with pytest.raises(ValueError, match="user:password"):
        app.parse_auth(value)


def test_auth_from_the_environment_allows_a_public_host(monkeypatch):
    monkeypatch.setenv(app.AUTH_ENV, "me:secret")
    assert app.resolve_auth(None) == ("me", "secret")
    assert app.resolve_auth("other:pw") == ("other", "pw")
    app.check_safety("0.0.0.0", app.resolve_auth(None))


def test_launch_options_never_share_and_only_serve_the_export_folder(ctx):
    from ui import launch_options

    options = launch_options(ctx)
    assert options["share"] is False
    assert options["allowed_paths"] == [str(ctx.export_dir)]
    assert options["max_file_size"] == ctx.max_upload_bytes


def test_python_app_py_serves_the_studio_on_loopback(db_url, tmp_path):
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    from tests.ui.studio import free_port, wait_for

    port = free_port()
    repo = Path(app.__file__).resolve().parent
    command = [sys.executable, "app.py", "--db", db_url, "--port", str(port), "--no-worker"]
    command += ["--export-dir", str(tmp_path / "exports")]
    server = subprocess.Popen(command, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def page() -> str | None:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
        except OSError:
            assert server.poll() is None, "app.py exited"
            return None

    try:
        assert "Impossible Distillation Studio" in wait_for(page, timeout_s=90, what="app.py to serve")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_studio_launches_quietly_without_the_share_hint(monkeypatch, capsys, db_url):
    import ui

    launched = {}

    class FakeApp:
        def launch(self, **kwargs):
            launched.update(kwargs)

    monkeypatch.setattr(ui, "build_app", lambda ctx: FakeApp())
    assert app.main(["--db", db_url, "--no-worker", "--port", "7999"]) == 0
    assert launched["quiet"] is True and launched["share"] is False
    assert "http://127.0.0.1:7999/" in capsys.readouterr().out
