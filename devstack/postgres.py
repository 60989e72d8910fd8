"""A private PostgreSQL 15 cluster for the local stack and the tests, owned by the calling process.

Layout: the cluster keeps everything in one directory, `data_dir`:

    data_dir/pgdata   the PostgreSQL data directory (PGDATA)
    data_dir/run      its own unix socket directory (no clash with a system PostgreSQL)

The server is `postgres -D ...` run through `devstack.process.ManagedProcess` (not `pg_ctl
start`, which daemonises), so it is a watched part of the stack like any other: its supervisor
stops it with SIGINT (PostgreSQL's fast shutdown, which does not wait for clients to
disconnect), also when the process that started it dies, and `stop()` leaves nothing.

Running as root: `initdb` and `postgres` refuse to run as root, so as root both run as the
`postgres` system user (`runuser -u postgres --`) and `data_dir` is chowned to that user. That
user must be able to traverse every parent of `data_dir`; when it cannot (a repository under a
0700 home, a 0077 umask), the cluster falls back to `<tempdir>/focus-pg-<port>`. The fallback is
named after the port, so a dev stack on a fixed port still reuses its data across restarts.

An initialised data directory is reused (dev restarts take about 0.1 s); `start(wipe=True)`
starts from an empty one (tests). Its databases are `cluster.databases` (`ClusterDatabases`):
`reset_app()` empties the `focus` database alone (`make dev` starts from an empty one unless
asked to keep data), `dump()` / `restore()` save and bring back its content (`make dev`'s keep
mode, devstack/saved.py), and `create()` / `drop()` give a test a database of its own.

Authentication is `trust`, which is safe only because the server listens on 127.0.0.1 and on a
socket directory of its own.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from devstack.process import ManagedProcess, StackError, wait_until

if TYPE_CHECKING:  # psycopg is imported lazily: `python -m devstack` must start fast
    import psycopg

SERVER_USER = "postgres"  # the system user the server runs as when we are root
SUPERUSER = "postgres"  # bootstrap superuser created by initdb (fixed, whoever runs initdb)
APP_ROLE = "focus"
APP_DATABASE = "focus"

# A unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux, NUL included).
_MAX_SOCKET_PATH = 100


class PostgresCluster:
    """One PostgreSQL cluster on 127.0.0.1:`port`, with role and database `focus`."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        log_dir: Path,
        *,
        fsync: bool = False,
        max_connections: int = 100,
    ) -> None:
        # Absolute: the server runs with the data directory as its working directory.
        data_dir = data_dir.absolute()
        self.port = port
        self.log_dir = log_dir.absolute()
        self.fsync = fsync
        self.max_connections = max_connections
        self._requested_dir = data_dir
        self._data_dir = data_dir
        self._socket_dir = data_dir / "run"
        self._proc: ManagedProcess | None = None
        self._cancelled = threading.Event()
        self.created = False  # True when the last start() ran initdb
        self.databases = ClusterDatabases(port)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The cluster's directory in use (the requested one, or the fallback after start())."""
        return self._data_dir

    @property
    def pgdata(self) -> Path:
        return self._data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self._socket_dir

    @property
    def dsn(self) -> str:
        """libpq URL of the app database (psycopg, psql); SQLAlchemy wants `+psycopg` added."""
        return self.database_dsn(APP_DATABASE)

    def database_dsn(self, database: str, user: str = APP_ROLE) -> str:
        return _dsn(self.port, database, user)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.running

    def ensure_running(self) -> None:
        """Raise StackError naming PostgreSQL, with its log's tail, once the server has died."""
        if self._proc is not None:
            self._proc.ensure_running()

    def cancel(self) -> None:
        """Make a start() running in another thread give up at its next step (stack stop)."""
        self._cancelled.set()

    def _check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise StackError("PostgreSQL start cancelled: the stack is stopping")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, wipe: bool = False, timeout: float = 30.0) -> None:
        """Initialise (unless an initialised data directory is there to reuse, or `wipe`), start,
        and wait until role and database `focus` exist."""
        if self.running:
            return
        self._cancelled.clear()
        self._prepare_dirs(wipe)
        self.created = not (self.pgdata / "PG_VERSION").exists()
        if self.created:
            self._initdb()
        self._check_cancelled()
        self._ensure_socket_dir()
        settings = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self._socket_dir),
            "max_connections": str(self.max_connections),
            "fsync": "on" if self.fsync else "off",
            # With fsync off these only cost time; they are what makes a commit durable.
            "synchronous_commit": "on" if self.fsync else "off",
            "full_page_writes": "on" if self.fsync else "off",
            "timezone": "UTC",
            "log_timezone": "UTC",
        }
        argv = ["postgres", "-D", str(self.pgdata)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        proc = ManagedProcess(
            "postgres",
            _as_server_user(argv),
            log_dir=self.log_dir,
            cwd=self._data_dir,
            stop_signal=signal.SIGINT,  # fast shutdown; SIGTERM would wait for every client
        )
        self._proc = proc
        proc.start()
        try:

            def ready() -> bool:
                self._check_cancelled()
                # Stop polling as soon as the server exits: ensure_running() then says why.
                return not proc.running or self.databases.accepts_connections()

            what = f"PostgreSQL on port {self.port} (log: {proc.log_path})"
            wait_until(ready, timeout=timeout, what=what)
            proc.ensure_running()
            self.databases.ensure_app()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown (clients are disconnected); the process group is gone on return."""
        proc = self._proc
        if proc is None:
            return
        proc.stop()
        self._proc = None

    def destroy(self) -> None:
        """Stop and delete the cluster's directory (tests)."""
        self.stop()
        shutil.rmtree(self._data_dir, ignore_errors=True)
        shutil.rmtree(self._socket_dir, ignore_errors=True)  # outside it when the path was long

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------

    def _prepare_dirs(self, wipe: bool) -> None:
        self._data_dir = self._requested_dir
        if wipe:
            shutil.rmtree(self._data_dir, ignore_errors=True)
        self._data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        _chown_to_server_user(self._data_dir)
        if not _server_user_can_write(self._data_dir):
            with contextlib.suppress(OSError):
                self._data_dir.rmdir()  # only if we just made it and it is empty
            self._data_dir = Path(tempfile.gettempdir()) / f"focus-pg-{self.port}"
            if wipe:
                shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir.mkdir(parents=True, exist_ok=True)
            _chown_to_server_user(self._data_dir)
            if not _server_user_can_write(self._data_dir):
                raise StackError(
                    f"user {SERVER_USER!r} cannot write to {self._data_dir}; "
                    "run the stack as a normal user or fix the directory's permissions"
                )

    def _ensure_socket_dir(self) -> None:
        socket_dir = self._data_dir / "run"
        if len(str(socket_dir / f".s.PGSQL.{self.port}.lock")) > _MAX_SOCKET_PATH:
            socket_dir = Path(tempfile.gettempdir()) / f"focus-pg-{self.port}-run"
        socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _chown_to_server_user(socket_dir)
        self._socket_dir = socket_dir

    def _initdb(self) -> None:
        shutil.rmtree(self.pgdata, ignore_errors=True)  # a half-made one from a crashed initdb
        argv = [
            "initdb",
            "-D",
            str(self.pgdata),
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ]
        try:
            result = subprocess.run(
                _as_server_user(argv),
                cwd=self._data_dir,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except FileNotFoundError as err:
            raise StackError(f"initdb not found ({err}); install the PostgreSQL 15 server") from err
        if result.returncode != 0:
            raise StackError(
                f"initdb failed with code {result.returncode}:\n{result.stdout}{result.stderr}"
            )


class ClusterDatabases:
    """The databases of a running cluster, through its superuser on 127.0.0.1:`port`: role and
    database `focus`, databases of their own for tests, and the `focus` database's dump and
    restore (`make dev`'s keep mode, devstack/saved.py)."""

    def __init__(self, port: int) -> None:
        self._port = port

    def accepts_connections(self) -> bool:
        import psycopg

        with psycopg.connect(self._conninfo(), connect_timeout=1):
            return True

    def ensure_app(self) -> None:
        """Role `focus` (able to create the functions' group roles) and its database."""
        from psycopg import sql

        with self._admin() as conn:
            role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            # CREATEROLE, as Cloud SQL's migrator has through cloudsqlsuperuser: the migrations
            # create the functions' group roles (migrations/versions/0006_app_roles.py).
            verb = "CREATE" if role.fetchone() is None else "ALTER"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN CREATEROLE").format(sql.Identifier(APP_ROLE))
            )
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,)
            ).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(APP_DATABASE), sql.Identifier(APP_ROLE)
                    )
                )

    def create(self, name: str) -> str:
        """Create database `name` owned by `focus` (dropping any old one); return its DSN."""
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(APP_ROLE)
                )
            )
        return _dsn(self._port, name, APP_ROLE)

    def drop(self, name: str) -> None:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def reset_app(self) -> None:
        """Drop and re-create the `focus` database: empty, not even migrated."""
        self.drop(APP_DATABASE)
        self.ensure_app()

    def dump(self, path: Path) -> None:
        """The `focus` database, schema and rows, to `path` (pg_dump's custom format)."""
        argv = [_server_tool("pg_dump"), "--format=custom", f"--file={path}"]
        _run_tool([*argv, self._conninfo(APP_DATABASE)], "pg_dump")

    def restore(self, path: Path) -> None:
        """Replace the `focus` database with a `dump()`."""
        self.reset_app()
        argv = [_server_tool("pg_restore"), "--exit-on-error", "--single-transaction"]
        _run_tool([*argv, f"--dbname={self._conninfo(APP_DATABASE)}", str(path)], "pg_restore")

    def _conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self._port} user={SUPERUSER} dbname={database}"

    def _admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        return psycopg.connect(self._conninfo(), autocommit=True, connect_timeout=5)


def _dsn(port: int, database: str, user: str) -> str:
    return f"postgresql://{user}@127.0.0.1:{port}/{database}"


def _server_tool(name: str) -> str:
    """`pg_dump` / `pg_restore` of the same installation as the `postgres` on PATH."""
    server = shutil.which("postgres")
    if server is not None:
        beside = Path(os.path.realpath(server)).parent / name
        if beside.exists():
            return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} not found; install the PostgreSQL 15 client programs")
    return found


def _run_tool(argv: list[str], what: str) -> None:
    # These are clients: unlike initdb and postgres they run as root too.
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise StackError(f"{what} failed with code {result.returncode}: {result.stderr.strip()}")


def _as_server_user(argv: list[str]) -> list[str]:
    """Run `argv` as the server user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *argv]
    return argv


def _chown_to_server_user(path: Path) -> None:
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError as err:
        raise StackError(
            f"running as root needs the system user {SERVER_USER!r} (PostgreSQL refuses root)"
        ) from err
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _server_user_can_write(path: Path) -> bool:
    """Whether the server user reaches `path` (every parent traversable) and can write in it."""
    result = subprocess.run(
        ["runuser", "-u", SERVER_USER, "--", "test", "-w", str(path), "-a", "-x", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0
