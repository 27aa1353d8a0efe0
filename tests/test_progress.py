"""Progress on stderr: drawn on a terminal only, never coloured, silenced by --quiet, erased at the end."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from conftest import ROOT

from mlstack import progress as progress_module
from mlstack.progress import activity, enabled, progress, set_quiet


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A terminal as stderr, installed by the test itself (pytest's capture swaps sys.stderr back
    between a fixture's setup and the test's call)."""
    stream = Terminal()
    stream.install = lambda: monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv(progress_module.ENV, raising=False)
    set_quiet(False)
    yield stream
    set_quiet(False)


def test_a_bar_is_drawn_on_a_terminal_without_colour_and_erased(terminal, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    terminal.install()
    with progress("checking churn-dev", total=3, unit="resource", delay=0) as bar:
        for _ in range(3):
            bar.update()
    drawn = terminal.getvalue()
    assert "checking churn-dev:" in drawn and "/3 [" in drawn and "resource/s" in drawn
    assert "\x1b[" not in drawn  # no colour, no cursor escapes
    assert drawn.endswith("\r")  # the line is erased when the work ends


def test_activity_shows_elapsed_time_and_the_detail(terminal):
    terminal.install()
    with activity("status churn-dev", detail=lambda: "sagemaker:ListModelPackages", delay=0, interval=0.05):
        time.sleep(0.4)
    drawn = terminal.getvalue()
    assert "status churn-dev: 00:00" in drawn and "sagemaker:ListModelPackages" in drawn


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda mp: set_quiet(True), id="quiet"),
        pytest.param(lambda mp: mp.setenv("TERM", "dumb"), id="dumb-terminal"),
        pytest.param(lambda mp: mp.setenv(progress_module.ENV, "0"), id="disabled"),
        pytest.param(lambda mp: mp.setattr(sys, "stderr", io.StringIO()), id="piped"),
    ],
)
def test_nothing_is_drawn_when_no_one_watches(terminal, monkeypatch, setup):
    terminal.install()
    setup(monkeypatch)
    assert not enabled()
    with progress("x", total=2, delay=0) as bar:
        bar.update(2)
    with activity("y", delay=0, interval=0.01):
        time.sleep(0.05)
    assert terminal.getvalue() == ""


def test_plan_on_a_terminal_shows_progress_on_stderr_and_keeps_stdout_clean(tmp_path):
    """End to end, in a real pseudo-terminal: stderr gets the progress line, stdout the JSON alone.
    churn-prod builds a training pipeline: its plan takes seconds, past the half-second delay."""
    stack = "churn-prod"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm", "NO_COLOR": "1"}
    env.pop(progress_module.ENV, None)
    stdout = (tmp_path / "stdout").open("wb+")  # a file, not a pipe nobody reads while the plan runs
    process = subprocess.Popen([sys.executable, "-m", "mlstack", "plan", stack, "--json"], cwd=ROOT, env=env, stdout=stdout, stderr=slave)
    os.close(slave)
    drawn = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=120)
    stdout.seek(0)
    out = stdout.read()
    os.close(master)
    assert process.returncode == 0
    assert b"planning " in drawn and b"\x1b[" not in drawn and b" resources" in drawn  # the count of registered resources
    assert out.decode().lstrip().startswith("{") and b"planning" not in out
