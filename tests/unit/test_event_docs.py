"""docs/events.md describes every catalogued topic, type and payload field, so it cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from events.catalogue import CATALOGUE

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
TYPE_HEADING = re.compile(r"^### `(?P<type>[^`]+)`\s*$", re.M)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def type_sections(doc: str) -> dict[str, str]:
    """Each `### \\`type\\`` heading and the text up to the next heading."""
    headings = list(TYPE_HEADING.finditer(doc))
    sections = {}
    for m in headings:
        rest = doc[m.end() :]
        nxt = re.search(r"^#{1,3} ", rest, re.M)
        sections[m.group("type")] = rest[: nxt.start()] if nxt else rest
    return sections


def documented_fields(section: str) -> list[str]:
    return re.findall(r"^\| `(\w+)` \|", section, re.M)


def test_every_catalogued_type_has_a_section(doc):
    documented = type_sections(doc)
    missing = [t for t in CATALOGUE.types() if t not in documented]
    assert not missing, f"docs/events.md lacks a section for {missing}"


def test_the_doc_describes_no_type_the_catalogue_lacks(doc):
    stale = sorted(set(type_sections(doc)) - set(CATALOGUE.types()))
    assert not stale, f"docs/events.md describes types that are not catalogued: {stale}"


def test_every_payload_field_is_documented_with_its_type(doc):
    sections = type_sections(doc)
    for event_type in CATALOGUE.types():
        schema_fields = list(CATALOGUE.schema_for(event_type).fields)
        assert documented_fields(sections[event_type]) == schema_fields, event_type


def test_required_fields_are_marked_required(doc):
    sections = type_sections(doc)
    for event_type in CATALOGUE.types():
        schema = CATALOGUE.schema_for(event_type)
        for name, field in schema.fields.items():
            row = re.search(rf"^\| `{name}` \|[^|]*\| (?P<required>[^|]*) \|", sections[event_type], re.M)
            assert row, f"{event_type}.{name} has no row"
            marked = row.group("required").strip().startswith("yes")
            assert marked == field.required, f"{event_type}.{name}"


def test_every_topic_is_listed_with_its_key_partitions_and_dead_letter_topic(doc):
    for topic in CATALOGUE.topics.values():
        row = re.search(rf"^\| `{re.escape(topic.name)}` \|(?P<cells>.*)$", doc, re.M)
        assert row, f"topic {topic.name} is not in the topics table"
        cells = [c.strip() for c in row.group("cells").split("|")]
        assert cells[0] == f"`{topic.key}`", topic.name
        assert cells[1] == str(topic.partitions), topic.name
        assert cells[2].startswith(f"`{topic.dlq}`"), topic.name
        # Every type sits under its topic's "## <topic>" part of the page.
        part = doc.split(f"\n## {topic.name}\n", 1)[1].split("\n## ", 1)[0]
        for event_type in topic.types:
            assert f"### `{event_type}`" in part, (topic.name, event_type)
