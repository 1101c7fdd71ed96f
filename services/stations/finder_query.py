"""The finder's query string, loaded without webargs and marshmallow when it is plainly valid.

The finder is the service's busiest request, and loading its six parameters through webargs and
``FinderArgs`` was 6–17 % of a worker's CPU samples ("Station finder" in docs/benchmarks.md). The
loader here is compiled once from the schema's own fields: their names, kinds, defaults and
validators. It takes only what the schema certainly accepts, written plainly (decimal numbers,
digits, a spelling of true or false the field knows, text), converts it as marshmallow does
(``float()``, ``int()``) and checks it with the fields' own validators. For anything else it answers
None, and the caller loads the query through the schema as before: a bad value gets the same 422
with the same field errors, an unusual but valid spelling (``+26.5``, ``2.65e1``, ``On``) the same
values. So the rules stay the schema's, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from marshmallow import Schema, ValidationError, fields, missing
from werkzeug.datastructures import MultiDict

from schemas.fields import Latitude, Longitude

# At most 15 digits each side: float() of these is finite, int() of them far below Python's limit
# on digits; a longer value, rare in a finder query, goes through the schema.
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?").fullmatch
_DIGITS = re.compile(r"-?[0-9]{1,15}").fullmatch
_NOT_PLAIN = object()


def _decimal(field: fields.Float):
    return lambda text: float(text) if _DECIMAL(text) else _NOT_PLAIN


def _digits(field: fields.Integer):
    if field.strict:  # a strict Integer refuses every string, so the schema must answer
        raise TypeError(f"{field!r} is strict: a query string cannot load it plainly")
    return lambda text: int(text) if _DIGITS(text) else _NOT_PLAIN


def _boolean(field: fields.Boolean):
    truthy, falsy = field.truthy, field.falsy
    if not truthy:  # every value not falsy is true: nothing is plain
        raise TypeError(f"{field!r} has no truthy spellings")
    return lambda text: True if text in truthy else False if text in falsy else _NOT_PLAIN


def _text(field: fields.String):
    return lambda text: text


# By exact class: a subclass may deserialize otherwise, so it must be added here knowingly.
_READERS = {
    fields.Float: _decimal,
    Latitude: _decimal,
    Longitude: _decimal,
    fields.Integer: _digits,
    fields.Boolean: _boolean,
    fields.String: _text,
}


def _passes(validators: tuple, value) -> bool:
    try:
        for check in validators:
            if check(value) is False:  # a plain function fails by answering False (marshmallow's rule)
                return False
    except ValidationError:
        return False
    return True


def _reader(field: fields.Field) -> Callable[[str], object]:
    make = _READERS.get(type(field))
    if make is None:
        raise TypeError(f"{type(field).__name__} is not loaded plainly from a query string")
    read, validators = make(field), tuple(field.validators)

    def checked(text: str):
        value = read(text)
        return value if value is not _NOT_PLAIN and _passes(validators, value) else _NOT_PLAIN

    return checked


def _step(name: str, field: fields.Field) -> Callable[[MultiDict, dict], bool]:
    """Put one field's value (or its default) into the loaded dict; False when it is not plain."""
    key, attribute = field.data_key or name, field.attribute or name
    default, required = field.load_default, field.required
    if type(field) is fields.List:
        # webargs gives a List every value of a repeated parameter, other fields the first.
        read_item, validators = _reader(field.inner), tuple(field.validators)

        def value_of(args: MultiDict):
            values = [read_item(text) for text in args.getlist(key)]
            return values if _NOT_PLAIN not in values and _passes(validators, values) else _NOT_PLAIN
    else:
        read = _reader(field)

        def value_of(args: MultiDict):
            return read(args[key])

    def step(args: MultiDict, loaded: dict) -> bool:
        if key not in args:
            if required:
                return False
            if default is not missing:  # marshmallow does not validate a default
                loaded[attribute] = default() if callable(default) else default
            return True
        value = value_of(args)
        if value is _NOT_PLAIN:
            return False
        loaded[attribute] = value
        return True

    return step


def compile_query(schema: Schema) -> Callable[[MultiDict], dict | None]:
    """A loader of ``schema`` from a query string's MultiDict (``request.args``): the dict the schema
    would load, or None where only the schema can say (a bad value, an unusual spelling)."""
    steps = [_step(name, field) for name, field in schema.load_fields.items()]

    def load(args: MultiDict) -> dict | None:
        loaded: dict = {}
        for step in steps:
            if not step(args, loaded):
                return None
        return loaded

    return load
