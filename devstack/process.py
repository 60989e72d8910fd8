"""Child processes of the local stack: each part runs under a supervisor tied to the stack.

Every part is started through `devstack/supervisor.py` in a session of its own (so Ctrl-C in
the terminal reaches the stack, which then stops the parts in order) and with the read end of
one pipe, the lifeline, whose write end only this process holds. When this process exits, in
whatever way, the kernel closes the write end and every supervisor stops its part: nothing of
the stack outlives it, and its ports are free again within a few seconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path


class StackError(RuntimeError):
    """A part of the local stack could not be started; the message says what to do."""


def free_port(avoid: Collection[int] = ()) -> int:
    """A TCP port on loopback that nothing listens on right now, and not one of `avoid` (ports
    already handed out for the same stack: the kernel may offer a just-released port again)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, poll: float = 0.1) -> None:
    """Poll `check` until it returns True; raise StackError naming `what` after `timeout` s.

    Other exceptions of `check` count as "not yet" (a port that refuses connections while a
    server boots); a StackError (a part died, the start was cancelled) ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except StackError:
            raise
        except Exception:  # noqa: S110 - not ready yet
            pass
        time.sleep(poll)
    raise StackError(f"{what} did not become ready within {timeout:.0f} s")


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when `url` answers an HTTP status below 500."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return int(resp.status) < 500
    except urllib.error.HTTPError as err:
        return err.code < 500
    except OSError:
        return False


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


SUPERVISOR = Path(__file__).resolve().with_name("supervisor.py")
# Read at import, while this process can still read the checkout (see _readable_supervisor).
_SUPERVISOR_SOURCE = SUPERVISOR.read_text()
STOP_GRACE_S = 5.0  # how long a part may take to stop before it is killed

_lifeline_lock = threading.Lock()
_lifeline_fds: tuple[int, int] | None = None


def lifeline() -> int:
    """The read end of this process's lifeline pipe (made once; its write end is never closed
    on purpose: only this process's exit closes it)."""
    global _lifeline_fds  # noqa: PLW0603 - one pipe per process, made on first use
    with _lifeline_lock:
        if _lifeline_fds is None:
            read_end, write_end = os.pipe()  # both close-on-exec: no other child inherits them
            _lifeline_fds = (read_end, write_end)
            # A forked copy of this process (multiprocessing) must not keep the stack alive.
            os.register_at_fork(after_in_child=_close_lifeline_in_child)
        return _lifeline_fds[0]


def _close_lifeline_in_child() -> None:
    global _lifeline_fds  # noqa: PLW0603
    if _lifeline_fds is not None:
        for fd in _lifeline_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        _lifeline_fds = None


class ManagedProcess:
    """One part of the stack with its output in a log file, stopped with all its children.

    `stop_signal` is what the part takes as "shut down now" (PostgreSQL: SIGINT, its fast
    shutdown); after `grace` seconds whatever is left is killed. `own_log`: a log the part
    writes itself beside its output (firebase-tools keeps the stack trace of an "unexpected
    error" in its firebase-debug.log, not on the console): its tail is shown too when the part
    dies.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        grace: float = STOP_GRACE_S,
        own_log: Path | None = None,
    ) -> None:
        self.name = name
        self.own_log = own_log
        self.argv = list(argv)
        self.log_path = log_dir / f"{name}.log"
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.grace = grace
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if shutil.which(self.argv[0], path=self.env.get("PATH", os.defpath)) is None:
            raise StackError(f"{self.name}: cannot run {self.argv[0]!r}: not found")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = lifeline()
        supervised = [
            _supervisor_python(),
            "-I",  # isolated: the supervisor imports nothing of the project
            str(_readable_supervisor(self.log_path.parent)),
            f"--lifeline={fd}",
            f"--stop-signal={self.stop_signal.name}",
            f"--grace={self.grace:g}",
            "--",
            *self.argv,
        ]
        log = self.log_path.open("wb")
        try:
            self._proc = subprocess.Popen(
                supervised,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                pass_fds=(fd,),
            )
        except OSError as err:
            raise StackError(f"{self.name}: cannot run {self.argv[0]!r}: {err}") from err
        finally:
            log.close()

    @property
    def pid(self) -> int | None:
        """The supervisor's pid, which is also the part's session id."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure_running(self) -> None:
        """Raise with the tail of the log when the part has already exited."""
        if self._proc is not None and self._proc.poll() is not None:
            code = self._proc.returncode
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited ({code})"
            message = f"{self.name} {how}; last lines of {self.log_path}:\n{self.log_tail()}"
            if self.own_log is not None and self.own_log.exists():
                message += f"\nlast lines of {self.own_log}:\n{_tail(self.own_log, 30)}"
            raise StackError(message)

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.log_path, lines)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The part stopped (SIGSTOP to every process of its supervisor's session) inside the
        block and resumed (SIGCONT) when it ends, however it ends: a stalled dependency, for
        tests."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise StackError(f"{self.name} is not running")
        members = session_members(proc.pid) or [proc.pid]
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in members:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        """Ask the supervisor to stop the part and wait; it kills what outlives `grace`."""
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            # Stop signal, grace, SIGKILL, and the re-parented descendants' own exits.
            proc.wait(timeout=2 * self.grace + 5)
        except subprocess.TimeoutExpired:
            # Never seen; if the supervisor hangs, end its whole session ourselves.
            kill_session(proc.pid)
            proc.wait()
        self._proc = None


def _supervisor_python() -> str:
    """This interpreter, or when this process may not run it (a process that switched to
    another user, with the venv's interpreter under a home it cannot read) the system's
    python3: the supervisor needs only the standard library of a Python 3.11+."""
    if os.access(sys.executable, os.X_OK):
        return sys.executable
    system = shutil.which("python3")
    if system is None:
        raise StackError(f"cannot run {sys.executable} as this user, and no python3 on PATH")
    return system


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _readable_supervisor(state_dir: Path) -> Path:
    """The supervisor script, or a copy of it in the part's log folder when this process may
    not read the checkout's (a process that switched to another user, like the server user of
    PostgreSQL started as root, and a checkout under a folder only its owner may enter). The
    log folder is this process's own, so the copy is always readable where it is run."""
    if os.access(SUPERVISOR, os.R_OK):
        return SUPERVISOR
    copy = state_dir / SUPERVISOR.name
    # Written from the checkout's copy, which the parent read before switching users.
    copy.write_text(_SUPERVISOR_SOURCE)
    return copy


def kill_session(sid: int) -> None:
    """SIGKILL every process of session `sid` (Linux: read from /proc; elsewhere its group)."""
    for pid in session_members(sid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signal.SIGKILL)


def session_members(sid: int) -> list[int]:
    """Pids whose session id is `sid` (Linux /proc; an empty list elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue
        # Fields after the command name, which may itself hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:
            found.append(int(entry.parent.name))
    return found


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, fields) of every live process, from /proc/<pid>/stat (Linux): the fields after the
    command name, so `fields[0]` is the state, `[1]` the parent, `[2]` the process group,
    `[11]`-`[14]` utime, stime, cutime, cstime in clock ticks and `[19]` the start time.
    Processes that end while being read are left out."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name is in parentheses and may itself hold spaces or parentheses.
        yield int(entry.name), stat[stat.rindex(")") + 2 :].split()
