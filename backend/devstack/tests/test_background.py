"""`python -m devstack.background`: the webhooks worker's lowest CPU priority."""

import subprocess
import sys
from pathlib import Path

import pytest

BACKEND_DIR = Path(__file__).resolve().parent.parent.parent
REPORT = (
    "import os; print(os.getsid(0) == os.getpid(), os.nice(0), open('/proc/self/autogroup').read())"
)


@pytest.mark.parametrize(
    "own_session", [False, True], ids=["from a shell", "as make run starts it"]
)
def test_the_command_runs_niced_in_a_niced_group_of_its_own(own_session):
    if not Path("/proc/self/autogroup").exists():
        pytest.skip("this kernel has no autogroup")
    output = subprocess.run(
        [sys.executable, "-m", "devstack.background", sys.executable, "-c", REPORT],
        cwd=BACKEND_DIR,
        capture_output=True,
        text=True,
        check=True,
        start_new_session=own_session,
    ).stdout
    leads_session, nice, autogroup = output.split(" ", 2)
    assert (leads_session, nice) == ("True", "19")
    assert autogroup.strip().endswith("nice 19")
    assert autogroup != Path("/proc/self/autogroup").read_text()  # not this test's group
