"""Every service in-process with two of everything (world.py), built once per test module: the
matrix's rows and the mass-assignment tests each change the world as they go."""

from __future__ import annotations

import pytest

from tests.support import every_service

from .world import SETTINGS, World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory, redis_client) -> World:
    directory = tmp_path_factory.mktemp("matrix")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNIONHUB_HOME", str(directory))  # generated secrets land here, not in var/
        redis_client.flushdb()
        try:
            with every_service(directory, SETTINGS) as apps:
                yield build_world(apps)
        finally:
            redis_client.flushdb()
