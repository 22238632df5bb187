"""JupyterLab as attendees get it (`nox -s lab`): it starts, serves a MyST lab as a
notebook through jupytext, and opens .md files as notebooks by default.

The server is real: headless on 127.0.0.1, a free port, a random token, its config
and runtime folders in a temporary directory (nothing read from or written to ~),
stopped through its own shutdown API at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90  # seconds: the first start compiles nothing but imports a lot
LAB = sorted((ROOT / "labs").glob("[0-9]*.md"))[-1].relative_to(ROOT).as_posix()


@dataclass
class Server:
    url: str
    token: str

    def get(self, path: str) -> dict:
        request = urllib.request.Request(self.url + path,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def post(self, path: str) -> int:
        request = urllib.request.Request(self.url + path, method="POST", data=b"",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory) -> Iterator[Server]:
    if shutil.which("jupytext-config") is None:
        pytest.fail("jupytext is not installed: it is in requirements.txt", pytrace=False)
    home = tmp_path_factory.mktemp("jupyter")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "run"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    # The same setting the lab session writes (there into its venv's etc/jupyter).
    overrides = home / "config" / "labconfig" / "default_setting_overrides.json"
    subprocess.run(["jupytext-config", f"--settings-file={overrides}",
                    "set-default-viewer", "markdown", "myst"], check=True, env=env)
    token, port = secrets.token_hex(16), free_port()
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
         f"--notebook-dir={ROOT}", *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}/", token)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail("JupyterLab exited at start:\n" + (home / "server.log").read_text())
            try:
                server.get("api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT} s:\n"
                                + (home / "server.log").read_text())
                time.sleep(0.5)
        yield server
        assert server.post("api/shutdown") in (200, 204)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        log.close()


def test_a_myst_lab_is_served_as_a_notebook(jupyterlab):
    model = jupyterlab.get(f"api/contents/{LAB}?type=notebook&content=1")
    assert model["type"] == "notebook", model["type"]
    cells = model["content"]["cells"]
    assert any(c["cell_type"] == "code" for c in cells)
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"
    assert model["content"]["metadata"]["jupytext"]["text_representation"]["format_name"] == "myst"


def test_labs_open_as_notebooks_by_default(jupyterlab):
    settings = jupyterlab.get("lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    # The override changes the setting's default (the schema), not the user's value.
    viewers = {**settings["schema"]["properties"]["defaultViewers"]["default"],
               **settings["settings"].get("defaultViewers", {})}
    assert viewers.get("markdown") == "Jupytext Notebook", viewers


def test_the_server_listens_on_loopback_only(jupyterlab):
    assert jupyterlab.url.startswith("http://127.0.0.1:")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(jupyterlab.url + "api/contents/", timeout=10)
    assert refused.value.code == 403, "the contents API answered without the token"
