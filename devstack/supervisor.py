"""Ties one part of the local stack to the life of the process that started it.

`devstack.process.ManagedProcess` runs every part as

    python -I supervisor.py --lifeline FD --stop-signal TERM --grace 5 -- ARGV...

The supervisor starts ARGV in a process group of its own and waits. It stops the part when it
is told to (SIGTERM, SIGINT or SIGHUP: the stack's `stop()`) and when the lifeline, a pipe
whose only write end the stack holds, reaches end of file: the kernel closes it when the stack
exits, however it exits (Ctrl-C, an exception, SIGKILL, a closed terminal). Stopping sends the
part's own stop signal to its group, waits up to `grace` seconds for every descendant to be
gone, then SIGKILLs what is left. When the part exits by itself, the supervisor clears what it
left and exits with the part's status (a signal death is passed on as one), so the stack can
say which part died and how.

Why a process in between and not PR_SET_PDEATHSIG: the death signal reaches the direct child
only, the kernel resets it when runuser switches to the postgres user, and the parts are
wrappers (a bash script that runs java, firebase-tools' node, runuser) whose children would
outlive it. The supervisor is also a child subreaper on Linux, so a descendant whose parent
dies (java under its bash script, postgres under runuser) is still waited for.

Standard library only, of any Python 3.11+: it is started by path with `-I`, so nothing of the
project is imported and it starts in a few tens of milliseconds (and a process that switched
to another user may run it with the system's python3).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time
from types import FrameType

_PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.1


class _Requests:
    """What the supervisor was asked to do by a signal (handlers only set flags)."""

    stop = False


def _on_stop_request(_signum: int, _frame: FrameType | None) -> None:
    _Requests.stop = True


def _become_subreaper() -> None:
    """Orphaned descendants are re-parented to us rather than to init (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _reap(child_pid: int) -> int | None:
    """Collect every exited descendant; return the direct child's wait status if it exited."""
    status = None
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == child_pid:
            status = wait_status


def _has_children() -> bool:
    """Whether any descendant is left to wait for (exited or not); nothing is reaped here."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _lifeline_closed(lifeline: select.poll | None, fd: int | None, timeout_s: float) -> bool:
    """Wait up to `timeout_s` for the pipe; True once the stack's end of it is closed (end of
    file). poll, not select: the descriptor's number may be above select's limit of 1024."""
    if lifeline is None or fd is None:
        time.sleep(timeout_s)
        return False
    if not lifeline.poll(timeout_s * 1000):
        return False
    try:
        return os.read(fd, 1) == b""
    except OSError:
        return True


def _wait_for_descendants(child_pid: int, deadline: float, status: int | None) -> int | None:
    while time.monotonic() < deadline:
        found = _reap(child_pid)
        status = found if found is not None else status
        if not _has_children():
            break
        time.sleep(_POLL_S)
    return status


def _stop(child_pid: int, stop_signal: int, grace: float, status: int | None) -> int | None:
    """The stop signal to the part's group; after `grace` s, SIGKILL to whatever is left."""
    _signal_group(child_pid, stop_signal)
    status = _wait_for_descendants(child_pid, time.monotonic() + grace, status)
    if _has_children():
        _signal_group(child_pid, signal.SIGKILL)
        # Descendants in a session of their own (PostgreSQL's backends) are not in the group;
        # they end when their postmaster does, and are reaped here as our re-parented children.
        status = _wait_for_descendants(child_pid, time.monotonic() + grace, status)
    return status


def _exit_like(status: int | None) -> None:
    if status is None:
        sys.exit(0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):  # SIGKILL cannot be caught: no handler
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        sys.exit(128 + sig)  # a signal whose default is to be ignored
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a part of the local stack, tied to it.")
    parser.add_argument("--lifeline", type=int, default=None, help="read end of the pipe")
    parser.add_argument("--stop-signal", default="TERM", help="TERM, INT, ...")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds before SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    stop_signal = signal.Signals[f"SIG{args.stop_signal.upper().removeprefix('SIG')}"]

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_stop_request)
    _become_subreaper()
    # The part gets a group of its own: the stop signal reaches it and its children, not us.
    # Handlers set here are reset to their defaults in the part by exec.
    try:
        child = subprocess.Popen(command, process_group=0)
    except OSError as err:
        sys.stderr.write(f"cannot run {command[0]!r}: {err}\n")
        sys.exit(127)

    lifeline = None
    if args.lifeline is not None:
        lifeline = select.poll()
        lifeline.register(args.lifeline, select.POLLIN | select.POLLHUP)
    status = None
    while True:
        found = _reap(child.pid)
        if found is not None:
            status = found
            # The part is gone on its own: clear what it left behind, then report its status.
            _stop(child.pid, signal.SIGTERM, 2.0, status)
            break
        if _Requests.stop or _lifeline_closed(lifeline, args.lifeline, _POLL_S):
            status = _stop(child.pid, stop_signal, args.grace, status)
            break
    child.returncode = 0  # reaped above, with waitpid; keep Popen from waiting again
    _exit_like(status)


if __name__ == "__main__":
    main()
