"""Store fixtures: ``store_url`` runs a test on SQLite and on a real PostgreSQL that the session starts itself.

One cluster per session (see :mod:`tests.pg`), started the first time a test asks for it; each test gets a fresh
database, dropped afterwards. Where the server binaries are missing the PostgreSQL cases skip with the reason,
except in CI (``CI`` set), where they fail: CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ecrm_dsl.language.i18n import language, use
from tests.pg import Cluster, Unavailable

BACKENDS = ["sqlite", "postgresql"]

# The suite's expectations are in English whatever the machine's locale says (a test asks for Japanese itself).
os.environ["ECRM_LANG"] = "en"


@pytest.fixture(autouse=True)
def process_speaks_english_afterwards() -> Iterator[None]:
    """Every test leaves the process speaking English: a test that runs the CLI with ``--lang ja`` in process
    switches the language of the whole process (and click's ``$LANGUAGE``), and the next test expects English.
    Set up before any other fixture, so torn down after all of them (a teardown may run the CLI once more)."""
    before = os.environ.get("LANGUAGE")
    yield
    if language() != "en":
        use("en")
    if before is None:
        os.environ.pop("LANGUAGE", None)
    else:
        os.environ["LANGUAGE"] = before


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        cluster = Cluster.start()
    except Unavailable as exc:
        reason = str(exc)  # failed or skipped outside the handler, so the report is one line, not two tracebacks
    else:
        yield cluster
        cluster.stop()
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture
def postgres_url(pg_cluster: Cluster) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty PostgreSQL database."""
    name = pg_cluster.new_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a store that does not exist yet: a SQLite file, or an empty PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(scope="module", params=BACKENDS)
def module_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """:func:`store_url` shared by a module's tests (a store filled once, read by many)."""
    if request.param == "postgresql":
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        name = cluster.new_database()
        yield cluster.url(name)
        cluster.drop_database(name)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}"


@pytest.fixture(params=BACKENDS)
def world_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Runs a test of :class:`tests.runtime.world.World` on each backend: on postgresql every world the test
    builds gets a fresh database of its own (dropped afterwards)."""
    if request.param == "sqlite":
        yield request.param
        return
    from tests.runtime import world

    cluster: Cluster = request.getfixturevalue("pg_cluster")
    made: list[str] = []

    def new_store(_root: Path) -> str:
        made.append(cluster.new_database())
        return cluster.url(made[-1])

    monkeypatch.setattr(world, "new_store", new_store)
    yield request.param
    for name in made:
        cluster.drop_database(name)


@pytest.fixture(params=BACKENDS)
def new_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes one fresh store URL per call (a hypothesis test needs a store per example), on each backend."""
    made: list[str] = []

    def sqlite() -> str:
        made.append(f"sqlite:///{tmp_path / f'store{len(made)}.db'}")
        return made[-1]

    if request.param == "sqlite":
        yield sqlite
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")

    def postgresql() -> str:
        made.append(cluster.new_database())
        return cluster.url(made[-1])

    yield postgresql
    for name in made:
        cluster.drop_database(name)
