"""The poster's QR code: a real QR symbol that any scanner reads back as exactly the join_url."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import png
import pytest

from tests import support

SVG = "{http://www.w3.org/2000/svg}svg"


@pytest.fixture(scope="module")
def decode_qr():
    return lambda data: [text.encode() for text in support.decode_qr(data)]


def test_the_png_decodes_to_exactly_the_campaigns_join_url(api, tree, decode_qr):
    campaign = tree.campaign_a1
    response = api.client.get(f"/api/v1/campaigns/{campaign['id']}/qr.png", headers=tree.a1_admin)

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_qr(response.data) == [campaign["join_url"].encode()]
    # The URL a scanner finds is the one the join page answers on.
    path = campaign["join_url"].removeprefix("https://union.example.cn")
    assert api.client.get(path).status_code == 200


def test_the_png_scale_is_from_2_to_40_and_each_decodes(api, tree, decode_qr):
    campaign = tree.campaign_a1
    path = f"/api/v1/campaigns/{campaign['id']}/qr.png"
    small = api.client.get(f"{path}?scale=2", headers=tree.a1_admin)
    huge = api.client.get(f"{path}?scale=40", headers=tree.a1_admin)
    width_small = png.Reader(bytes=small.data).read()[0]
    width_huge = png.Reader(bytes=huge.data).read()[0]
    assert width_small * 20 == width_huge
    assert decode_qr(huge.data) == [campaign["join_url"].encode()]
    for scale in ("1", "500", "big"):  # refused by field, never a quietly different poster
        refused = api.client.get(f"{path}?scale={scale}", headers=tree.a1_admin)
        assert refused.status_code == 422 and [e["field"] for e in refused.get_json()["errors"]] == ["scale"]


def test_the_svg_is_valid_xml_for_print(api, tree):
    response = api.client.get(f"/api/v1/campaigns/{tree.campaign_b1['id']}/qr.svg", headers=tree.fed_admin)

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag == SVG
    assert float(root.get("width")) > 0 and float(root.get("height")) > 0
    assert root.find(f"{SVG[:-3]}path") is not None  # the modules are drawn


def test_each_campaign_has_its_own_code(api, tree, decode_qr):
    other = api.campaign(tree.fed_admin, tree.a1["id"], name="第二张海报")
    first = api.client.get(f"/api/v1/campaigns/{tree.campaign_a1['id']}/qr.png", headers=tree.fed_admin)
    second = api.client.get(f"/api/v1/campaigns/{other['id']}/qr.png", headers=tree.fed_admin)
    assert decode_qr(first.data) != decode_qr(second.data)
    assert decode_qr(second.data) == [other["join_url"].encode()]
