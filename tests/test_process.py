"""The command process (mlstack.process): the collector still runs, and the fast exit loses no
output and gives no traceback."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tomllib

from conftest import ROOT
from mlstack import process


def test_the_collector_stays_on_and_runs_less_often():
    saved, enabled = gc.get_threshold(), gc.isenabled()
    try:
        process.tune_collector()
        assert gc.isenabled() == enabled
        assert gc.get_threshold()[0] == process.YOUNG_THRESHOLD
    finally:
        gc.set_threshold(*saved)


def test_the_console_script_is_the_fast_exit_entry():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mlstack"] == "mlstack.cli:entry"


def test_output_is_complete_when_the_process_leaves_at_once(tmp_path):
    written = tmp_path / "schema.json"
    done = subprocess.run([sys.executable, "-m", "mlstack", "schema"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)  # the whole document reached the pipe
    assert subprocess.run([sys.executable, "-m", "mlstack", "schema", "-o", str(written)], cwd=ROOT).returncode == 0
    assert json.loads(written.read_text()) == schema


def test_exit_codes_pass_through_the_fast_exit():
    done = subprocess.run([sys.executable, "-m", "mlstack", "plan", "no-such-stack"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "no-such-stack" in done.stderr and "Traceback" not in done.stderr


def test_a_reader_that_leaves_early_gets_no_traceback():
    read, write = os.pipe()
    os.close(read)  # nobody reads: the command's first flush meets a broken pipe
    try:
        done = subprocess.run([sys.executable, "-m", "mlstack", "schema"], stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    finally:
        os.close(write)
    assert done.returncode == 141 and "Traceback" not in done.stderr, done.stderr
