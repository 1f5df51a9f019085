"""Offline, proven: the socket guard (tests/offline_guard) blocks the network in every Python process started with
it, and the api configuration's refusal holds under it. The smoke run of the whole workflow runs under the same
guard (tests/test_workflow.py)."""

import subprocess
import sys
from pathlib import Path

from _offline import guarded_env, socket_events


def run_guarded(code: str, log: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=guarded_env(log), capture_output=True, text=True,
                          timeout=300)


PROBE = """
import socket, urllib.request
for attempt in (lambda: urllib.request.urlopen("https://example.org", timeout=5),
                lambda: socket.create_connection(("10.11.12.13", 443), timeout=5),
                lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"q", ("8.8.8.8", 53))):
    try:
        attempt()
        print("CONNECTED")
    except OSError as exc:
        print("blocked:", exc)
server = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(server.getsockname())  # loopback stays open (Jupyter kernels use it)
print("loopback ok")
"""


def test_guard_blocks_the_network_and_keeps_loopback(tmp_path):
    log = tmp_path / "sockets.log"
    result = run_guarded(PROBE, log)
    assert result.returncode == 0, result.stderr
    assert "CONNECTED" not in result.stdout and result.stdout.count("blocked:") == 3 and "loopback ok" in result.stdout
    assert [event for event, _ in socket_events(log)] == ["loaded", "blocked", "blocked", "blocked"]


API = """
import sys
import pandas as pd
from claimbench.predict.run import predict_api
cases = pd.DataFrame({"encounter_id": ["E1"], "op_note": ["PROCEDURE: cystoscopy"]})
out = sys.argv[1] if len(sys.argv) > 1 else "."
remote = {"method": "api", "enabled": True, "endpoint": "https://api.example.org/v1", "prompt": "base"}
for conf, source in (({"method": "api", "enabled": False}, "synthetic"), (remote, "/data/hospital.parquet")):
    meta = predict_api("api", conf, cases, 1, f"{out}/api.jsonl", f"{out}/api.meta.json", source)
    print("refused:", meta["run"] is False, meta["reason"][:40])
try:  # allowed by config: the real client would send, and the blocked network stops it
    predict_api("api", remote, cases, 1, f"{out}/api.jsonl", f"{out}/api.meta.json", "synthetic")
except OSError as exc:
    print("send blocked:", type(exc).__name__)
"""


def test_api_refusal_holds_with_the_network_blocked(tmp_path):
    log = tmp_path / "sockets.log"
    result = run_guarded(API.replace('sys.argv[1] if len(sys.argv) > 1 else "."', repr(str(tmp_path))), log)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("refused: True") == 2 and "send blocked: URLError" in result.stdout
    blocked = [line for event, line in socket_events(log) if event == "blocked"]
    assert len(blocked) == 1 and "api.example.org" in blocked[0]  # only the allowed send tried, and was stopped
