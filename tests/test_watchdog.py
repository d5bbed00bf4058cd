"""The peer watchdog: it ends its worker (SIGKILL) once one wait for the
peers passes the bound, and a wait given extra seconds gets them."""

import signal
import subprocess
import sys
import textwrap

WORKER = textwrap.dedent("""
    import time
    from tf_models.training.watchdog import PeerWatchdog

    watchdog = PeerWatchdog(timeout=1, task="worker 1", peers=["worker 0 (host0:2222)"])
    with watchdog.awaiting("training step 1", extra_seconds=3):
        time.sleep(2)  # past the bound, within its extra seconds
    print("first step survived", flush=True)
    with watchdog.awaiting("training step 2"):
        time.sleep(30)  # the watchdog ends this process after 1 s
    print("not reached", flush=True)
""")


def test_a_wait_past_its_bound_ends_the_worker_and_extra_seconds_lengthen_one_wait():
    done = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "first step survived" in done.stdout and "not reached" not in done.stdout
    assert ("error: worker 1 waited more than 1 s for the other workers (worker 0 (host0:2222)) while training "
            "step 2") in done.stderr
