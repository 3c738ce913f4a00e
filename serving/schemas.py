"""Request and response models built from a tk model's signature (pydantic.create_model).

One field per ONNX input, named by its column. Every field is **required and
nullable**: send `null` for a missing value (it is imputed as training imputed
it); leaving a field out is a 400 naming it (`rows[3].tenure: Field required`),
because a misspelt or forgotten column would otherwise be silently imputed.

- float inputs (`tensor(float)`): JSON numbers, integers included, or `null`.
  Strings are refused, numeric ones too (`"3.5"` → 400): a JSON client sends
  numbers, and a string there is nearly always a client bug. NaN / Infinity
  literals and numbers that overflow (`1e999`) are refused: not finite.
- string inputs (`tensor(string)`): strings, or numbers and booleans, which are
  converted exactly as training converted its columns (`toolkit.data.coerce`): an
  integral number prints without ".0" (`1` and `1.0` → "1"), `true` → "true".
  So `{"senior_citizen": 1}` means what the CSV's `1` meant. Objects and lists
  are refused. `null` is missing ("").
- vector and timeseries inputs (strings holding lists of numbers): the string, or
  a JSON array of finite numbers (a vector's exactly its size long, a time
  series' at most 1000), or `null`; a string that is not such a list is a 400
  naming the row (the Predictor's check).
- unknown fields: refused by default (`extra="forbid"`, 400 naming the field),
  for the same reason as missing ones; `TK_UNKNOWN_FIELDS=ignore` drops them
  instead (for clients that send whole records with ids).

Columns that are not Python identifiers, or that clash with pydantic's own
attributes (`copy`, `json`, `model_*`), become fields `c<i>` with the column as
alias; `Row.__tk_columns__` maps field name → column either way.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    create_model,
)

from toolkit.data.number_lists import MAX_LENGTH, ListColumn, cell_text
from toolkit.runtime.predictor import FLOAT, STRING  # onnxruntime input type names, as the Predictor reads them

#: A float column: a JSON number (ints too) or null; finite only.
FloatValue = Annotated[float | None, Field(strict=True, allow_inf_nan=False)]
#: A string column: a string, number or boolean (coerced like training), or null.
StringValue = StrictStr | StrictInt | Annotated[float, Field(strict=True, allow_inf_nan=False)] | StrictBool | None
_UNION_TAGS = {"str", "int", "float", "bool"}


def _safe_name(column: str) -> bool:
    return (
        column.isidentifier()
        and not keyword.iskeyword(column)
        and not column.startswith("_")
        and not column.startswith("model_")
        and not hasattr(BaseModel, column)
    )


def _list_value(lists: ListColumn):
    """A vector / timeseries column: its string, a JSON array of finite numbers, or null. Either form is
    checked here as the Predictor would check it (one error naming the field), so a bad row is a 400 of
    its own request and never reaches a batch shared with others."""
    import math

    longest = lists.size or MAX_LENGTH
    expected = f"expected {lists.describe()}, or null"

    def check(value):
        if value is None or value == "":
            return value
        if isinstance(value, list):
            if len(value) > longest or (lists.size is not None and len(value) != lists.size):
                raise ValueError(f"{expected}; got {len(value)} number{'s' * (len(value) != 1)}")
            if not all(type(v) is int or (type(v) is float and math.isfinite(v)) for v in value):
                raise ValueError(f"{expected}; got a list whose items are not all finite numbers")
        elif not isinstance(value, str):
            raise ValueError(f"{expected}; got {type(value).__name__}")
        bad = lists.first_bad([value if isinstance(value, str) else cell_text(value, lists.delimiter)])
        if bad is not None:
            raise ValueError(bad[1])
        return value

    schema = {
        "anyOf": [
            {"type": "string"},
            {
                "type": "array",
                "items": {"type": "number"},
                "maxItems": longest,
                **({"minItems": lists.size} if lists.size else {}),
            },
            {"type": "null"},
        ]
    }
    return Annotated[Any, PlainValidator(check), WithJsonSchema(schema)], f"{lists.describe()}, or null when missing"


def row_model(
    inputs: dict[str, str],
    unknown_fields: str = "forbid",
    name: str = "Row",
    lists: dict[str, ListColumn] | None = None,
) -> type[BaseModel]:
    """A pydantic model of one row: {column: value} for every model input.

    `inputs`: {column: "tensor(float)" | "tensor(string)"} (`Predictor.inputs`).
    `unknown_fields`: "forbid" (400) or "ignore" (dropped).
    `lists`: {column: ListColumn} of the vector / timeseries inputs (`Predictor.list_columns`).
    """
    lists = lists or {}
    if unknown_fields not in ("forbid", "ignore"):
        raise ValueError(f"{unknown_fields=} must be 'forbid' or 'ignore'")
    fields: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for i, (column, dtype) in enumerate(inputs.items()):
        if dtype == FLOAT:
            typ, doc = FloatValue, "a number, or null when missing"
        elif dtype == STRING and column in lists:
            typ, doc = _list_value(lists[column])
        elif dtype == STRING:
            typ, doc = StringValue, "a string (numbers and booleans are converted), or null when missing"
        else:
            raise ValueError(f"input {column!r}: unsupported ONNX type {dtype!r}")
        field = column if _safe_name(column) else f"c{i}"
        fields[field] = (
            typ,
            Field(..., alias=column, description=doc) if field != column else Field(..., description=doc),
        )
        columns[field] = column
    model = create_model(name, __config__=ConfigDict(extra=unknown_fields, populate_by_name=True), **fields)
    model.__tk_columns__ = columns
    return model


def input_model(
    row: type[BaseModel], max_rows: int, base: type[BaseModel] = BaseModel, name: str = "Input"
) -> type[BaseModel]:
    """The request body: {"rows": [row, …]}, at most `max_rows` rows (`TK_MAX_ROWS`)."""
    rows = Annotated[list[row], Field(max_length=max_rows, description=f"the rows to predict, at most {max_rows}")]
    return create_model(name, __base__=base, rows=(rows, Field(...)))


def columns_of(rows: list[BaseModel], model: type[BaseModel]) -> dict[str, list]:
    """Validated rows → {column: [value per row]}, what `Predictor.run` takes."""
    return {column: [getattr(r, field) for r in rows] for field, column in model.__tk_columns__.items()}


def prediction_model(output_features: list[dict], outputs: list[str], name: str = "Prediction") -> type[BaseModel]:
    """A pydantic model of one row's answer: {output: {"label", "probabilities"} or {"value"}}.

    `output_features`: `Predictor.output_features` (name, type, classes);
    `outputs`: the ONNX output names (`<name>::label`, `::probabilities`, `::value`).
    """
    kinds: dict[str, list[str]] = {}
    for out in outputs:
        base, _, kind = out.partition("::")
        kinds.setdefault(base, []).append(kind)
    classes = {o["name"]: o.get("classes") for o in output_features}
    fields: dict[str, Any] = {}
    for base, ks in kinds.items():
        sub: dict[str, Any] = {}
        for k in ks:
            if k == "label":
                sub["label"] = (str | float | None, Field(..., description="the predicted class or value"))
            elif k == "probabilities":
                names = ", ".join(map(str, classes.get(base) or [])) or "each class"
                sub["probabilities"] = (dict[str, float], Field(..., description=f"probability of {names}"))
            else:
                sub[k] = (Any, Field(...))
        fields[base if _safe_name(base) else f"o{len(fields)}"] = (
            create_model(f"{name}_{len(fields)}", **sub),
            Field(..., alias=base),
        )
    return create_model(name, __config__=ConfigDict(populate_by_name=True), **fields)


def explanation_model(output_features: list[dict], players: list[str], name: str = "Explanation") -> type[BaseModel]:
    """A pydantic model of one row's attributions (`/explain`): {output: {input: number}}; per output they
    add up to the row's score minus the baseline score in /metadata (toolkit.runtime.explanations)."""
    config = ConfigDict(populate_by_name=True)
    inputs = create_model(
        f"{name}_inputs",
        __config__=config,
        **{
            (p if _safe_name(p) else f"i{k}"): (float, Field(..., alias=p, description=f"{p}'s share of the score"))
            for k, p in enumerate(players)
        },
    )
    fields = {
        (o["name"] if _safe_name(o["name"]) else f"o{k}"): (inputs, Field(..., alias=o["name"]))
        for k, o in enumerate(output_features)
    }
    return create_model(name, __config__=config, **fields)


# ---- errors ----------------------------------------------------------------


def field_path(loc) -> str:
    """('rows', 3, 'tenure') → 'rows[3].tenure'; () → '(body)'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


_MESSAGES = {
    "float_type": "expected a number or null",
    "finite_number": "expected a finite number",
    "missing": "field required (send null for a missing value)",
    "extra_forbidden": "unknown field (not an input of this model)",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "list_type": "expected a list of rows",
    "dict_type": "expected an object",
    "too_long": "too many rows (TK_MAX_ROWS)",
}


def format_errors(errors: list[dict]) -> list[dict]:
    """pydantic errors → [{"loc": "rows[3].tenure", "type", "msg"}], one per field.

    A string field tried as str | int | float | bool reports four union errors;
    they collapse into one "expected a string, number, boolean or null".
    """
    out: list[dict] = []
    seen: set[str] = set()
    for e in errors:
        loc = tuple(e.get("loc", ()))
        kind = e.get("type", "")
        if loc and loc[-1] in _UNION_TAGS and len(loc) >= 2:
            loc, kind, msg = loc[:-1], "string_type", "expected a string, number, boolean or null"
        elif kind == "value_error":  # a field's own check (vector / timeseries lists): its message as it is
            msg = e.get("msg", kind).removeprefix("Value error, ")
        elif kind == "json_invalid":
            msg = e.get("msg", "invalid JSON").replace("Invalid JSON", "malformed JSON")
        else:
            msg = _MESSAGES.get(kind, e.get("msg", kind))
        path = field_path(loc)
        if (path, kind) in seen:
            continue
        seen.add((path, kind))
        out.append({"loc": path, "type": kind, "msg": msg})
    return out


def error_text(details: list[dict], limit: int = 5) -> str:
    """One line for the response's "error": "rows[3].tenure: expected a number or null; …"."""
    parts = [f"{d['loc']}: {d['msg']}" for d in details[:limit]]
    more = len(details) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
