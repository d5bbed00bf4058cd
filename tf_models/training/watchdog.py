"""A bound on how long a worker waits for the others.

In a multi-worker run every worker waits for all the others: to start
(creating `MultiWorkerMirroredStrategy` blocks until every task has joined),
then at each step's all-reduce. A peer that died is noticed by TensorFlow
in seconds, but one that is stuck, stopped (SIGSTOP, a frozen machine) or
never started leaves the others waiting forever, inside TensorFlow's
runtime: it holds the interpreter's lock there, so no Python thread, signal
handler or exception of ours runs, and it catches SIGTERM.

`PeerWatchdog` therefore watches from a small process of its own (this file
run as a script, without TensorFlow). The code that waits for the peers
says so (`awaiting(what)`); if that takes longer than the timeout, the
watchdog prints which task waited for which and while doing what, removes
this worker's temporary folders and ends the worker with SIGKILL (exit
status 137 in a shell). The backups stay: once every worker runs again, the
same command resumes.

Example:
>>> watchdog = PeerWatchdog(timeout=60, task="worker 0", peers=["worker 1 (host1:12345)"])
>>> with watchdog.awaiting("the first step"):
...     pass  # an all-reduce that returned in time
>>> watchdog.stop()
"""

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time


class PeerWatchdog:
    """Ends this process when one wait for the other workers takes longer
    than `timeout` seconds.

    Args:
        timeout: seconds one wait may take (joining, a step, a comparison).
        task: this process, e.g. `"worker 0"`.
        peers: the tasks it waits for, e.g. `["worker 1 (host1:12345)"]`.
    """

    def __init__(self, timeout, task, peers):
        self.timeout = timeout
        self.task = task
        self.peers = list(peers)
        settings = json.dumps({"timeout": timeout, "pid": os.getpid(), "task": task, "peers": self.peers})
        self._process = subprocess.Popen([sys.executable, os.path.abspath(__file__), settings],
                                         stdin=subprocess.PIPE, text=True)

    def _send(self, *words):
        try:
            self._process.stdin.write(json.dumps(words) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError):  # the watchdog has ended
            pass

    @contextlib.contextmanager
    def awaiting(self, what, extra_seconds=0):
        """Marks a wait for the peers, e.g. `awaiting("training step 120")`;
        `extra_seconds` lengthens this one wait's bound."""
        self._send("arm", what, extra_seconds)
        try:
            yield
        finally:
            self._send("disarm")

    def remove_on_timeout(self, path):
        """Has the watchdog remove the folder `path` before it ends the worker."""
        self._send("cleanup", str(path))

    def stop(self):
        """Ends the watchdog process."""
        with contextlib.suppress(BrokenPipeError, ValueError):
            self._process.stdin.close()
        self._process.wait()


def _watch(settings):
    """The watchdog process: reads `arm WHAT EXTRA_SECONDS`, `disarm`,
    `cleanup PATH` lines from the worker; ends with it (end of input)."""
    deadline, what, bound, cleanup, pending = None, "", settings["timeout"], [], b""
    while True:
        wait = None if deadline is None else max(deadline - time.monotonic(), 0)
        ready, _, _ = select.select([0], [], [], wait)
        if ready:
            # Raw reads: a buffered reader could hold a line that select() no longer sees.
            received = os.read(0, 65536)
            if not received:
                return  # the worker closed the pipe or ended
            pending += received
            *lines, pending = pending.split(b"\n")
            for line in lines:
                command, *arguments = json.loads(line)
                if command == "arm":
                    what, bound = arguments[0], settings["timeout"] + arguments[1]
                    deadline = time.monotonic() + bound
                elif command == "disarm":
                    deadline = None
                elif command == "cleanup":
                    cleanup.append(arguments[0])
        elif deadline is not None and time.monotonic() >= deadline:
            print(f"\nerror: {settings['task']} waited more than {bound:g} s for the other workers "
                  f"({', '.join(settings['peers'])}) while {what}: one of them is stuck, stopped or never started. "
                  "Check them, then start every worker again with the same command: the run resumes from its "
                  "last backup (--worker-timeout sets this bound).", file=sys.stderr, flush=True)
            for path in cleanup:
                shutil.rmtree(path, ignore_errors=True)
            # TensorFlow's runtime holds the worker where SIGTERM is caught: SIGKILL.
            with contextlib.suppress(ProcessLookupError):
                os.kill(settings["pid"], signal.SIGKILL)
            return


_WATCHDOG = None


def watch_peers(timeout, task, peers):
    """Starts this process' `PeerWatchdog` (one per process); returns it.

    Args:
        timeout: seconds one wait for the peers may take.
        task: this process, e.g. `"worker 0"`.
        peers: the tasks it waits for.
    """
    global _WATCHDOG
    if _WATCHDOG is not None:
        _WATCHDOG.stop()
    _WATCHDOG = PeerWatchdog(timeout, task, peers)
    return _WATCHDOG


def remove_on_timeout(path):
    """Has the watchdog, if any, remove a folder before it ends the worker.

    Args:
        path: the folder (a worker's temporary files).
    """
    if _WATCHDOG is not None:
        _WATCHDOG.remove_on_timeout(path)


@contextlib.contextmanager
def awaiting_peers(what, extra_seconds=0):
    """Marks a wait for the other workers (nothing without a watchdog).

    Args:
        what: what this worker waits for, for the message (`"training step 12"`).
        extra_seconds: added to the bound for this wait, for one that also
            does slow work of its own (the first step traces the step function
            on every worker, each at its own pace).
    """
    if _WATCHDOG is None:
        yield
    else:
        with _WATCHDOG.awaiting(what, extra_seconds):
            yield


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the worker; the watchdog ends with it
    _watch(json.loads(sys.argv[1]))
