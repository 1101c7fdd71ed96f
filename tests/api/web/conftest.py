"""The web service in-process (Flask test client), built as production builds it."""

from __future__ import annotations

import pytest

from tests.support import build_app, dispose_app, service_settings


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def make(**overrides):
        app = build_app("web", service_settings("web", tmp_path, **overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        dispose_app(app)


@pytest.fixture
def client(make_app):
    return make_app().test_client()
