"""SIGTERM stops `yhteys serve` well inside an orchestrator's 10 s grace, residents' chats
open or not: an orchestrator that waits longer than its grace sends SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import socketio

from tests.conftest import free_port, until_healthy

GRACE_S = 10  # Kubernetes' and docker compose's default


async def test_sigterm_stops_serve_in_time_with_residents_connected(tmp_path: Path):
    http_port, smtp_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YHTEYS_")}
    env.update(YHTEYS_HTTP_PORT=str(http_port), YHTEYS_SMTP_PORT=str(smtp_port))
    url = f"http://127.0.0.1:{http_port}"
    proc = subprocess.Popen([sys.executable, "-m", "config.cli", "serve"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    residents: list[socketio.AsyncClient] = []
    gone = asyncio.Event()
    try:
        await until_healthy(url, proc)
        # A resident whose browser went away mid-poll: engine.io has a packet for it that
        # nobody will ever read (its disconnect-all would wait for that read for ever).
        async with aiohttp.ClientSession(headers={"Origin": url}) as http:
            polling = f"{url}/socket.io/?EIO=4&transport=polling"
            async with http.get(polling) as r:
                sid = json.loads((await r.text())[1:])["sid"]
            async with http.post(f"{polling}&sid={sid}", data="40/chat,") as r:
                assert r.status == 200
        for _ in range(3):
            client = socketio.AsyncClient(reconnection=False)
            client.on("disconnect", gone.set, namespace="/chat")
            await client.connect(url, namespaces=["/chat"], transports=["websocket"],
                                 headers={"Origin": url}, wait_timeout=10)
            residents.append(client)
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output = (await asyncio.to_thread(proc.communicate, timeout=GRACE_S + 20))[0].decode()
        took = time.monotonic() - asked
        assert proc.returncode == 0, output
        assert took < GRACE_S, f"serve took {took:.1f} s to stop"
        assert "Traceback" not in output
        await asyncio.wait_for(gone.wait(), 5)  # the residents were told, not left hanging
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for client in residents:
            await client.disconnect()
