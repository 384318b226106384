"""A PostgreSQL cluster of one test's own, to stop and start under a running service
(the suite's shared one must stay up for the other tests). As scripts/test.sh does it:
Debian's server binaries, run as the `postgres` user when the tests run as root."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import free_port


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return str(Path(found).resolve())
    [newest, *_] = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return newest


class Cluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="yhteys-pg-"))
        self.data = self.folder / "data"
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses root
            self.user = "postgres" if _has_user("postgres") else "nobody"
            shutil.chown(self.folder, self.user)
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "yhteys", "--auth=trust",
                  "--no-locale", "-E", "UTF8", "-N")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://yhteys@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off")
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                  "-w", "-t", "30", "-s", "-o", options, "start")

    def stop(self) -> None:
        """As a restart does: every connection is cut."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "-s",
                  "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-s",
                      "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, *argv: str, check: bool = True) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run([*prefix, *argv], cwd=self.folder, capture_output=True,
                              text=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"{argv[0]} failed: {done.stderr or done.stdout}")


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
