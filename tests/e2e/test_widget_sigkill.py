"""`yhteys serve` killed with SIGKILL mid-chat and started again: the resident's widget (on a
hel.fi stand-in on another origin) reconnects by itself, every message is stored once and
shown once, and the counsellor's replies reach the widget once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from tests.conftest import BACKEND, Relay, free_port, reset_database, until_healthy
from tests.e2e.widget_site import LABELS, HostSite, open_widget, start_chat

pytestmark = pytest.mark.browser
ALWAYS_OPEN = "[opening_hours]\npublic_holidays = false\n" + "".join(
    f'{day} = "00:00-24:00"\n' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


class ServeProcess:
    """`python -m config.cli serve` on fixed ports, killed and started like an orchestrator."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['YHTEYS_HTTP_PORT']}"

    async def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "config.cli", "serve"],
                                     env={**os.environ, **self.env},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await until_healthy(self.url, self.proc)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "config.cli", *args], input=stdin,
                          env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
async def serve(tmp_path: Path, relay: Relay, base_env: dict[str, str], worker: object
                ) -> AsyncIterator[tuple[ServeProcess, HostSite]]:
    site = HostSite("", port=free_port(), lang="fi")
    env = {**base_env, "YHTEYS_HTTP_PORT": str(free_port()), "YHTEYS_SMTP_PORT": str(free_port()),
           "YHTEYS_WIDGET_ORIGINS": site.origin, "YHTEYS_CONFIG": str(tmp_path / "hours.toml")}
    (tmp_path / "hours.toml").write_text(ALWAYS_OPEN)
    if BACKEND == "postgres":
        reset_database(env["YHTEYS_DATABASE_URL"])
    else:
        env["YHTEYS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    process = ServeProcess(env)
    site.service_url = process.url
    await process.start()
    await site.start()
    yield process, site
    process.stop()
    await site.stop()


async def test_widget_recovers_from_a_sigkilled_serve_with_nothing_lost_or_doubled(
        serve: tuple[ServeProcess, HostSite], browser: Browser) -> None:
    expect.set_options(timeout=30_000)  # socket.io backs off up to 5 s between reconnects
    process, site = serve
    await asyncio.to_thread(cli, process.env, "staff", "add", "irma@hel.fi", "--name",
                            "Irma Itäinen", "--area", "itainen")
    token = await asyncio.to_thread(cli, process.env, "token", "create", "irma@hel.fi")
    auth = {"Authorization": f"Bearer {token}"}
    page = await (await browser.new_context()).new_page()
    frame = await open_widget(page, site)
    await start_chat(frame, "00940", "Vuokra on rästissä", LABELS["fi"])

    async with aiohttp.ClientSession(headers=auth) as http:
        async def contact() -> dict:
            async with http.get(process.url + "/api/v1/contacts?folder=all") as r:
                [item] = (await r.json())["items"]
            async with http.get(f"{process.url}/api/v1/contacts/{item['id']}") as r:
                return await r.json()

        async def reply(text: str) -> None:
            first = await contact()
            async with http.post(f"{process.url}/api/v1/contacts/{first['id']}/replies",
                                 json={"text": text}) as r:
                assert r.status == 201, await r.text()

        await reply("Hei, katsotaan yhdessä.")
        counsellor = frame.locator("#yh-log li[data-sender=counsellor] .yh-message__text")
        await expect(counsellor).to_have_text(["Hei, katsotaan yhdessä."])
        box = frame.locator("#yh-send").get_by_label(LABELS["fi"]["message"])
        await box.fill("Ennen kaatumista")
        await box.press("Enter")
        mine = frame.locator("#yh-log li[data-sender=resident]:not(.is-sending)")
        await expect(mine).to_have_count(2)
        # Mid-chat: a message is on its way when the process dies.
        await box.fill("Juuri kaatumisen hetkellä")
        await box.press("Enter")
        process.kill()
        await expect(frame.locator("#yh-connection")).to_contain_text("Yhteys katkesi")
        await box.fill("Kun palvelu oli alhaalla")
        await box.press("Enter")
        await process.start()
        await expect(frame.locator("#yh-log li.is-sending")).to_have_count(0)
        resident = frame.locator("#yh-log li[data-sender=resident] .yh-message__text")
        expected = ["Vuokra on rästissä", "Ennen kaatumista", "Juuri kaatumisen hetkellä",
                    "Kun palvelu oli alhaalla"]
        await expect(resident).to_have_text(expected)
        await reply("Palvelu toimii taas.")
        await expect(counsellor).to_have_text(["Hei, katsotaan yhdessä.",
                                               "Palvelu toimii taas."])
        stored = [m["text"] for m in (await contact())["messages"]]
        assert [t for t in stored if t in expected] == expected, stored
        assert stored.count("Palvelu toimii taas.") == 1
