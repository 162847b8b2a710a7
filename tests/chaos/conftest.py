"""Each chaos module's own Postgres and Redis (tests/chaos/services.py) and two serve
workers on them: module-scoped, so a module's tests share one set and no other test's
services are ever stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.cluster import DB, assert_clean, chaos_cluster
from tests.chaos.services import (
    PASSWORD,
    PrivatePostgres,
    PrivateRedis,
    private_postgres,
    private_redis,
)
from tests.workers.cluster import Cluster


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    with private_postgres() as p:
        yield p


@pytest.fixture(scope="module")
def own_redis() -> Iterator[PrivateRedis]:
    with private_redis() as r:
        yield r


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg: PrivatePostgres,
            own_redis: PrivateRedis) -> Iterator[Cluster]:
    """Two serve workers on the module's Postgres (database `incidents`) and Redis; their
    logs hold no traceback and no password at the end."""
    database = pg.create_database(DB)
    with chaos_cluster(tmp_path_factory.mktemp("pg-chaos"), database, own_redis.url, n=2) as c:
        yield c
        for w in c.workers:
            assert_clean(w.log(), PASSWORD)
