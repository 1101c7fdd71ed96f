import uuid
import xml.etree.ElementTree as ET

import png
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.qr import qr_png, qr_svg
from services.enrolment.card_token import CardIssuer
from tests.support import decode_qr

JOIN_URL = "https://union.example.cn/join?branch=GY-0001&src=poster&ref=%E9%A1%BA%E4%B8%B0"
SVG_ROOT = "{http://www.w3.org/2000/svg}svg"


@pytest.fixture(scope="module")
def decode():
    return lambda data: [text.encode() for text in decode_qr(data)]


def png_size(data: bytes) -> tuple[int, int]:
    width, height, _, _ = png.Reader(bytes=data).read()
    return width, height


def test_png_decodes_back_to_the_exact_join_url(decode):
    assert decode(qr_png(JOIN_URL)) == [JOIN_URL.encode()]


def test_png_decodes_a_member_card_token(decode):
    token, _ = CardIssuer([Ed25519PrivateKey.generate()]).issue(str(uuid.uuid4()), now=1_700_000_000)
    assert decode(qr_png(token, scale=4)) == [token.encode()]


def test_png_is_a_png_file():
    assert qr_png(JOIN_URL).startswith(b"\x89PNG\r\n\x1a\n")


def test_scale_multiplies_and_border_adds_quiet_zone_modules():
    small_width, small_height = png_size(qr_png(JOIN_URL, scale=1, border=0))
    assert small_width == small_height
    assert png_size(qr_png(JOIN_URL, scale=8, border=0)) == (small_width * 8, small_height * 8)
    assert png_size(qr_png(JOIN_URL, scale=1, border=4)) == (small_width + 8, small_height + 8)


def test_svg_parses_as_xml_with_an_svg_root():
    root = ET.fromstring(qr_svg(JOIN_URL))
    assert root.tag == SVG_ROOT
    assert root.get("width") == root.get("height")


def test_empty_data_is_refused():
    with pytest.raises(ValueError):
        qr_png("")
    with pytest.raises(ValueError):
        qr_svg("")
