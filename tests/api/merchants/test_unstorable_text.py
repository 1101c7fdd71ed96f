"""A body field holding what no database column can store is refused by name before anything is
written: JSON's "\\ud800" escape decodes to a lone surrogate, which is no character of UTF-8, so
the driver could not encode the statement (a 500)."""

from __future__ import annotations

import pytest

from services.merchants import tables

# The JSON text a client sends, escape and all: the test client, encoding json= as the app does (not
# ASCII-only), could not send the surrogate itself.
MERCHANT_NAMED_WITH_A_LONE_SURROGATE = (
    r'{"name": "合力\ud800超市", "category": "supermarket", "branch_id": "branch-a"}'
)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-CN", "此项含有无法识别的字符"),
        ("en", "This value holds an unpaired UTF-16 surrogate, which is not a character."),
    ],
    ids=["zh-CN", "en"],
)
def test_a_field_holding_a_lone_surrogate_is_refused_by_name_and_nothing_is_written(api, language, message):
    answer = api.send(
        "POST",
        "/api/v1/merchants",
        data=MERCHANT_NAMED_WITH_A_LONE_SURROGATE,
        content_type="application/json",
        headers={**api.admin, "Accept-Language": language},
    )

    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["errors"] == [{"field": "name", "code": "lone_surrogate", "message": message}]
    assert api.count(tables.merchants) == 0
    assert api.outbox_types() == []
