"""Member-facing text for the field error codes raised by the schemas package."""

from __future__ import annotations

FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "resident_id.length": {
        "en": "A resident ID number has 18 characters. Please check and enter it again.",
        "zh-CN": "身份证号码应为18位，请核对后重新输入",
    },
    "resident_id.format": {
        "en": "A resident ID number is 17 digits followed by a digit or the letter X.",
        "zh-CN": "身份证号码格式不正确：前17位应为数字，最后一位为数字或字母X",
    },
    "resident_id.legacy_15": {
        "en": "15-digit ID numbers are no longer accepted. Please enter the 18-digit number on your "
        "current resident ID card.",
        "zh-CN": "不再支持15位旧身份证号码，请输入您现用第二代身份证上的18位号码",
    },
    "resident_id.region": {
        "en": "The first six digits of the ID number are not a valid region code.",
        "zh-CN": "身份证号码前6位地区码不正确，请核对后重新输入",
    },
    "resident_id.birth_date": {
        "en": "The date of birth in the ID number is not valid.",
        "zh-CN": "身份证号码中的出生日期不正确，请核对后重新输入",
    },
    "resident_id.checksum": {
        "en": "The ID number's check character does not match. Please check and enter it again.",
        "zh-CN": "身份证号码校验位不正确，请核对后重新输入",
    },
    "mobile.invalid": {
        "en": "Please enter a valid mainland China mobile number (11 digits starting with 1).",
        "zh-CN": "请输入正确的11位中国大陆手机号码",
    },
    "money.invalid": {
        "en": "The amount must be a whole number of fen (0.01 yuan) and cannot be negative.",
        "zh-CN": "金额须为以“分”为单位的非负整数",
    },
    "geo.latitude": {
        "en": "Latitude must be a number between -90 and 90.",
        "zh-CN": "纬度须为-90到90之间的数值",
    },
    "geo.longitude": {
        "en": "Longitude must be a number between -180 and 180.",
        "zh-CN": "经度须为-180到180之间的数值",
    },
    "date.out_of_range": {
        "en": "The date must fall between the years 2000 and 2099.",
        "zh-CN": "日期须在2000年至2099年之间",
    },
}
