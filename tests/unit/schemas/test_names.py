import pytest

from schemas.names import mask


@pytest.mark.parametrize(
    "name, masked",
    [
        ("张三", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧**"),
        ("阿卜杜热合曼·买买提", "阿**"),
        ("Zhang San", "Z**"),
        (" 李四 ", "李*"),
        ("李", "*"),
        ("", ""),
        (None, None),
    ],
)
def test_a_name_keeps_only_its_first_character(name, masked):
    assert mask(name) == masked


def test_the_mask_does_not_tell_long_names_apart_by_length():
    assert len(mask("欧阳娜娜")) == len(mask("司马相如之后")) == 3


def test_a_combining_mark_is_not_split_from_its_character():
    assert mask("E\u0301mile") == "\u00c9**"
