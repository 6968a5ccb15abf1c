"""Downloads without the internet: a web server on 127.0.0.1 plays the published address or a mirror.

It proves the documented mirror setting (``RIDERSHIP_MIRROR``), the sha256 check, the cache
(a second call downloads nothing), and that network failures are tried again while a wrong
checksum or a missing file is not.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ridership import RidershipError
from ridership import fetch as fetch_module
from ridership.chorales.data import CHORALES
from ridership.data import RIDERSHIP, load_ridership
from ridership.fetch import fetch, sha256sum


class Server:
    """Serves ``files`` (name → bytes) at ``self.url``; answers 503 to the first ``failures`` requests."""

    def __init__(self, files: dict, failures: int = 0):
        self.files, self.failures, self.requests = files, failures, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path.lstrip("/"))
                if len(server.requests) <= server.failures:
                    self.send_error(503)
                elif body is None:
                    self.send_error(404)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def no_local_copy(tmp_path, monkeypatch):
    """No path variable, an empty cache folder, and pauses recorded instead of slept."""
    for env in (RIDERSHIP.env, CHORALES.env, fetch_module.ENV_MIRROR):
        monkeypatch.delenv(env, raising=False)
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv(fetch_module.ENV_CACHE, str(cache))
    pauses = []
    monkeypatch.setattr(fetch_module.time, "sleep", pauses.append)
    return cache, pauses


def test_a_mirror_serves_both_archives_once(no_local_copy, data_path, chorales_path, monkeypatch):
    cache, pauses = no_local_copy
    server = Server({RIDERSHIP.filename: data_path.read_bytes(), CHORALES.filename: chorales_path.read_bytes()})
    try:
        monkeypatch.setenv(fetch_module.ENV_MIRROR, server.url + "/")
        for remote in (RIDERSHIP, CHORALES):
            file, source = fetch(remote)
            assert (file, source) == (cache / remote.filename, "download")
            assert sha256sum(file) == remote.sha256
        assert sorted(server.requests) == sorted(f"/{r.filename}" for r in (RIDERSHIP, CHORALES))
        assert len(load_ridership()) == 7639  # read from the cache: no further request
        assert fetch(CHORALES)[1] == "cache"
        assert len(server.requests) == 2 and not pauses
    finally:
        server.close()


def test_network_failures_are_tried_again(no_local_copy, data_path):
    cache, pauses = no_local_copy
    server = Server({RIDERSHIP.filename: data_path.read_bytes()}, failures=2)
    try:
        file, source = fetch(RIDERSHIP, url=f"{server.url}/{RIDERSHIP.filename}", retry_delay=0.5)
        assert source == "download" and sha256sum(file) == RIDERSHIP.sha256
        assert len(server.requests) == 3 and pauses == [0.5, 0.5]
    finally:
        server.close()


def test_giving_up_says_how_often_and_what_to_do(no_local_copy):
    cache, pauses = no_local_copy
    server = Server({}, failures=100)
    try:
        with pytest.raises(RidershipError, match=r"tried 4 times.*RIDERSHIP_DATA=.*RIDERSHIP_MIRROR"):
            fetch(RIDERSHIP, url=f"{server.url}/{RIDERSHIP.filename}")
        assert len(server.requests) == 4 and len(pauses) == 3
        assert not any(cache.iterdir())
    finally:
        server.close()


@pytest.mark.parametrize("files, error", [({RIDERSHIP.filename: b"not the archive"}, "sha256"),
                                          ({}, "404")])
def test_a_wrong_file_or_a_missing_one_is_not_tried_again(no_local_copy, files, error):
    cache, pauses = no_local_copy
    server = Server(files)
    try:
        with pytest.raises(RidershipError, match=error):
            fetch(RIDERSHIP, url=f"{server.url}/{RIDERSHIP.filename}")
        assert len(server.requests) == 1 and not pauses
        assert not any(cache.iterdir())  # nothing kept, not even a temporary file
    finally:
        server.close()
