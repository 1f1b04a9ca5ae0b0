"""Input schemas: dataclasses that validate JSON bodies and HTML forms at the edge.

The same classes feed the OpenAPI document, so the documentation cannot drift from the checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from server.domain import localtime
from server.domain.documents import DocumentKind, DocumentStatus
from server.domain.errors import InvalidInput
from server.domain.sitting import QuorumRule, SittingStatus, SittingType
from server.edge import MAX_ID
from server.i18n import N_

# Field problems are gettext ids, said in plain words (shown beside the field, translated).
DATE_PROBLEM = N_("Tanggal belum benar; tulis misalnya 2026-03-02.")
DATETIME_PROBLEM = N_("Tanggal dan jam belum benar; tulis misalnya 2026-03-02 09:00.")
NUMBER_PROBLEM = N_("Isi dengan angka.")

MISSING = dataclasses.MISSING
T = TypeVar("T")


def field(
    *,
    default: Any = MISSING,
    description: str = "",
    max_length: int | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    meta = {
        "description": description,
        "max_length": max_length,
        "minimum": minimum,
        "maximum": maximum,
    }
    return dataclasses.field(default=default, metadata=meta)


def reference(description: str) -> Any:
    """An optional id of another record, within the key range: a larger number is a 400 here,
    not a 500 from a database that cannot bind it."""
    return field(default=None, description=description, minimum=1, maximum=MAX_ID)


@dataclasses.dataclass(frozen=True)
class QueryInt:
    """An optional integer query parameter. The range it documents is the range it accepts, so a
    number the database cannot bind (past 2⁶³ in SQLite, 2³¹ in PostgreSQL) is a 400, not a 500."""

    minimum: int
    maximum: int

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}

    def read(self, query: Mapping[str, str], name: str) -> int | None:
        if not query.get(name):
            return None
        try:
            return _number(int, query[name], {"minimum": self.minimum, "maximum": self.maximum})
        except ValueError as exc:
            raise invalid({name: str(exc)}) from None


YEAR = QueryInt(1950, 2100)
MONTH = QueryInt(1, 12)
OFFSET = QueryInt(0, MAX_ID)


@dataclasses.dataclass
class SittingIn:
    """A sitting (rapat) as staff create it."""

    type: SittingType = field(description="Jenis rapat")
    title: str = field(description="Judul rapat", max_length=300)
    starts_at: dt.datetime = field(description="Waktu mulai (ISO 8601; tanpa zona = WIB)")
    location: str = field(default="", description="Tempat", max_length=200)
    is_public: bool = field(default=True, description="Terbuka untuk umum")
    quorum_rule: QuorumRule = field(default=QuorumRule.HALF, description="Syarat kuorum")
    komisi: str = field(default="", description="Komisi (untuk rapat komisi)", max_length=100)


@dataclasses.dataclass
class SittingPatch:
    """Any subset of a sitting's fields."""

    type: SittingType | None = field(default=None)
    title: str | None = field(default=None, max_length=300)
    starts_at: dt.datetime | None = field(default=None)
    location: str | None = field(default=None, max_length=200)
    is_public: bool | None = field(default=None)
    quorum_rule: QuorumRule | None = field(default=None)
    komisi: str | None = field(default=None, max_length=100)
    secret_ballot: bool | None = field(default=None, description="Pemungutan suara rahasia")


@dataclasses.dataclass
class StatusChange:
    status: SittingStatus = field(description="Status tujuan")


@dataclasses.dataclass
class AgendaItemIn:
    title: str = field(description="Judul acara", max_length=300)
    description: str = field(default="", description="Uraian", max_length=5000)
    start_offset: float | None = field(default=None, minimum=0, description="Detik sejak mulai")
    end_offset: float | None = field(default=None, minimum=0, description="Detik sejak mulai")


@dataclasses.dataclass
class AgendaOrder:
    item_ids: list[int] = field(description="Semua id acara, dalam urutan baru")


@dataclasses.dataclass
class DocumentMeta:
    """JDIH metadata for an uploaded PDF."""

    jenis: DocumentKind = field(description="Jenis dokumen")
    judul: str = field(description="Judul", max_length=500)
    tahun: int = field(description="Tahun", minimum=YEAR.minimum, maximum=YEAR.maximum)
    nomor: str = field(default="", description="Nomor", max_length=50)
    tanggal_penetapan: dt.date | None = field(default=None, description="Tanggal penetapan")
    status: DocumentStatus = field(default=DocumentStatus.BERLAKU, description="Status")
    sitting_id: int | None = reference("Rapat terkait")
    agenda_item_id: int | None = reference("Acara terkait")
    changed_by_id: int | None = reference("Dokumen yang mengubah atau mencabut dokumen ini")


@dataclasses.dataclass
class DocumentPatch:
    """A document's JDIH status, e.g. `dicabut` by the Perda that revoked it."""

    status: DocumentStatus | None = field(default=None, description="Status")
    changed_by_id: int | None = reference("Dokumen yang mengubah atau mencabut dokumen ini")


@dataclasses.dataclass
class RecordingEditIn:
    """Trim, closed-door cuts and poster frame, on the raw recording clock."""

    trim_start: str = field(default="0", description="Awal rekaman publik (detik atau j:mm:dd)")
    trim_end: str = field(default="", description="Akhir rekaman publik (kosong = sampai habis)")
    cuts: str = field(
        default="", description="Bagian tertutup, satu per baris: mulai - selesai", max_length=5000
    )
    poster: str = field(default="", description="Waktu gambar sampul (detik atau j:mm:dd)")


def parse(schema: type[T], data: Mapping[str, Any], *, partial: bool = False) -> T:
    """Build `schema` from JSON or form data, or raise InvalidInput naming each bad field.

    With `partial`, absent fields are None (for PATCH); see `provided`.
    """
    hints = get_type_hints(schema)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in dataclasses.fields(schema):
        present = spec.name in data and not (
            _is_optional(hints[spec.name]) and data[spec.name] in ("", None)
        )
        if not present:
            if partial:
                values[spec.name] = None
            elif spec.default is MISSING:
                errors[spec.name] = N_("Wajib diisi.")
            continue
        try:
            values[spec.name] = _coerce(hints[spec.name], data[spec.name], spec.metadata)
        except (TypeError, ValueError) as exc:
            errors[spec.name] = str(exc)
            continue
        if values[spec.name] == "" and spec.default is MISSING:
            errors[spec.name] = N_("Wajib diisi.")
    unknown = set(data) - {f.name for f in dataclasses.fields(schema)} - {"csrf_token"}
    for name in sorted(unknown):
        errors[name] = N_("Kolom tidak dikenal.")
    if errors:
        raise invalid(errors)
    return schema(**values)


def invalid(errors: dict[str, str]) -> InvalidInput:
    """The one 400 for bad fields or parameters: each named with its problem."""
    return InvalidInput(
        N_("Data yang dikirim tidak valid: %(errors)s"), errors, errors=_summary(errors)
    )


def provided(instance: Any) -> dict[str, Any]:
    """The fields of a partial schema that were actually given."""
    return {k: v for k, v in dataclasses.asdict(instance).items() if v is not None}


def _summary(errors: dict[str, str]) -> str:
    return "; ".join(f"{name}: {message}" for name, message in errors.items())


def _is_optional(hint: Any) -> bool:
    return type(None) in get_args(hint)


def _coerce(hint: Any, value: Any, meta: Mapping[str, Any]) -> Any:
    if get_origin(hint) in (typing.Union, types.UnionType):
        if value is None:
            return None
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    if get_origin(hint) is list:
        (item_type,) = get_args(hint)
        if not isinstance(value, list):
            raise ValueError("Harus berupa daftar.")
        return [_coerce(item_type, item, {}) for item in value]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in hint)
            raise ValueError(f"Nilai tidak dikenal. Pilihan: {choices}.") from None
    if hint is bool:
        if isinstance(value, bool):
            return value
        if value in ("on", "true", "1", "ya"):
            return True
        if value in ("off", "false", "0", "tidak"):
            return False
        raise ValueError("Harus benar atau salah.")
    if hint in (int, float):
        return _number(hint, value, meta)
    if hint is dt.datetime:
        return _datetime(value)
    if hint is dt.date:
        if not isinstance(value, str):
            raise ValueError(DATE_PROBLEM)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(DATE_PROBLEM) from None
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(N_("Isi dengan teks."))
        value = value.strip()
        if meta.get("max_length") and len(value) > meta["max_length"]:
            raise ValueError(f"Paling banyak {meta['max_length']} karakter.")
        return value
    raise TypeError(f"unsupported schema type {hint!r}")


def _number(kind: type, value: Any, meta: Mapping[str, Any]) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(NUMBER_PROBLEM)
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(NUMBER_PROBLEM) from None
    if kind is float and number != number:  # NaN
        raise ValueError(NUMBER_PROBLEM)
    if meta.get("minimum") is not None and number < meta["minimum"]:
        raise ValueError(f"Paling kecil {meta['minimum']}.")
    if meta.get("maximum") is not None and number > meta["maximum"]:
        raise ValueError(f"Paling besar {meta['maximum']}.")
    return number


def _datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(DATETIME_PROBLEM)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(DATETIME_PROBLEM) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=localtime.zone())
    return parsed.astimezone(dt.UTC)


def json_schema(schema: type) -> dict[str, Any]:
    """The JSON Schema (OpenAPI 3.1 dialect) of an input dataclass."""
    hints = get_type_hints(schema)
    properties: dict[str, Any] = {}
    required = []
    for spec in dataclasses.fields(schema):
        prop = _type_schema(hints[spec.name])
        for key, schema_key in (
            ("description", "description"),
            ("max_length", "maxLength"),
            ("minimum", "minimum"),
            ("maximum", "maximum"),
        ):
            if spec.metadata.get(key) not in (None, ""):
                prop[schema_key] = spec.metadata[key]
        properties[spec.name] = prop
        if spec.default is MISSING:
            required.append(spec.name)
    result: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if schema.__doc__:
        result["description"] = schema.__doc__.strip()
    if required:
        result["required"] = required
    return result


def _type_schema(hint: Any) -> dict[str, Any]:
    if get_origin(hint) in (typing.Union, types.UnionType):
        inner = next(arg for arg in get_args(hint) if arg is not type(None))
        return {"anyOf": [_type_schema(inner), {"type": "null"}]}
    if get_origin(hint) is list:
        return {"type": "array", "items": _type_schema(get_args(hint)[0])}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"type": "string", "enum": [m.value for m in hint]}
    simple = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
        dt.datetime: {"type": "string", "format": "date-time"},
        dt.date: {"type": "string", "format": "date"},
    }
    return dict(simple[hint])
