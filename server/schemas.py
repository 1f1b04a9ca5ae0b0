"""Input schemas: pydantic models that validate JSON bodies and HTML forms at the edge.

The same models feed the OpenAPI document (their JSON Schema), so the documentation cannot drift
from the checks. `parse` is the one way in: it turns pydantic's errors into one InvalidInput with a
plain-language message beside each field.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

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
REQUIRED = N_("Wajib diisi.")
# By the first word of pydantic's error type (`int_parsing`, `datetime_from_date_parsing`, ...).
PROBLEMS = {
    "missing": REQUIRED,
    "extra": N_("Kolom tidak dikenal."),
    "string": N_("Isi dengan teks."),
    "int": NUMBER_PROBLEM,
    "float": NUMBER_PROBLEM,
    "finite": NUMBER_PROBLEM,
    "bool": "Harus benar atau salah.",
    "datetime": DATETIME_PROBLEM,
    "date": DATE_PROBLEM,
    "list": "Harus berupa daftar.",
}
T = TypeVar("T", bound=BaseModel)


def _not_bool(value: Any) -> Any:
    """JSON `true` is not the number 1 (pydantic's lax mode would take it as one)."""
    if isinstance(value, bool):
        raise ValueError(NUMBER_PROBLEM)
    return value


def _yes_no(value: Any) -> Any:
    """A form's Indonesian yes/no, besides pydantic's on/off, true/false, 1/0."""
    return {"ya": True, "tidak": False}.get(value, value) if isinstance(value, str) else value


def _utc(value: dt.datetime) -> dt.datetime:
    """A time without a zone is local time (WIB); stored in UTC, which 0001-01-01 WIB is not."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=localtime.zone())
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(DATETIME_PROBLEM) from None


# A number's range goes before the check that refuses `true`, so the range is in the JSON Schema.
NOT_BOOL = BeforeValidator(_not_bool)
Bool = Annotated[bool, BeforeValidator(_yes_no)]
DateTime = Annotated[dt.datetime, AfterValidator(_utc)]
Year = Annotated[int, Field(ge=1950, le=2100), NOT_BOOL]
Offset = Annotated[float, Field(ge=0), NOT_BOOL]
# An optional id of another record, within the key range: a larger number is a 400 here, not a
# 500 from a database that cannot bind it.
Reference = Annotated[int, Field(ge=1, le=MAX_ID), NOT_BOOL] | None


class QueryInt:
    """An optional integer query parameter. The range it documents is the range it accepts, so a
    number the database cannot bind (past 2⁶³ in SQLite, 2³¹ in PostgreSQL) is a 400, not a 500."""

    def __init__(self, kind: Any) -> None:
        self.adapter: TypeAdapter[int] = TypeAdapter(kind)

    def schema(self) -> dict[str, Any]:
        return self.adapter.json_schema()

    def read(self, query: Mapping[str, str], name: str) -> int | None:
        if not query.get(name):
            return None
        try:
            return self.adapter.validate_python(query[name])
        except ValidationError as exc:
            raise invalid({name: _problem(exc.errors()[0])}) from None


YEAR = QueryInt(Year)
MONTH = QueryInt(Annotated[int, Field(ge=1, le=12)])
OFFSET = QueryInt(Annotated[int, Field(ge=0, le=MAX_ID)])


class Schema(BaseModel):
    """Unknown fields are refused; text is trimmed; NaN and infinity are not numbers here."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class SittingIn(Schema):
    """A sitting (rapat) as staff create it."""

    type: SittingType = Field(description="Jenis rapat")
    title: str = Field(description="Judul rapat", min_length=1, max_length=300)
    starts_at: DateTime = Field(description="Waktu mulai (ISO 8601; tanpa zona = WIB)")
    location: str = Field("", description="Tempat", max_length=200)
    is_public: Bool = Field(True, description="Terbuka untuk umum")
    quorum_rule: QuorumRule = Field(QuorumRule.HALF, description="Syarat kuorum")
    komisi: str = Field("", description="Komisi (untuk rapat komisi)", max_length=100)


class SittingPatch(Schema):
    """Any subset of a sitting's fields."""

    type: SittingType | None = None
    title: str | None = Field(None, max_length=300)
    starts_at: DateTime | None = None
    location: str | None = Field(None, max_length=200)
    is_public: Bool | None = None
    quorum_rule: QuorumRule | None = None
    komisi: str | None = Field(None, max_length=100)
    secret_ballot: Bool | None = Field(None, description="Pemungutan suara rahasia")


class StatusChange(Schema):
    status: SittingStatus = Field(description="Status tujuan")


class AgendaItemIn(Schema):
    title: str = Field(description="Judul acara", min_length=1, max_length=300)
    description: str = Field("", description="Uraian", max_length=5000)
    start_offset: Offset | None = Field(None, description="Detik sejak mulai")
    end_offset: Offset | None = Field(None, description="Detik sejak mulai")


class AgendaOrder(Schema):
    item_ids: list[Annotated[int, NOT_BOOL]] = Field(
        description="Semua id acara, dalam urutan baru"
    )


class DocumentMeta(Schema):
    """JDIH metadata for an uploaded PDF."""

    jenis: DocumentKind = Field(description="Jenis dokumen")
    judul: str = Field(description="Judul", min_length=1, max_length=500)
    tahun: Year = Field(description="Tahun")
    nomor: str = Field("", description="Nomor", max_length=50)
    tanggal_penetapan: dt.date | None = Field(None, description="Tanggal penetapan")
    status: DocumentStatus = Field(DocumentStatus.BERLAKU, description="Status")
    sitting_id: Reference = Field(None, description="Rapat terkait")
    agenda_item_id: Reference = Field(None, description="Acara terkait")
    changed_by_id: Reference = Field(
        None, description="Dokumen yang mengubah atau mencabut dokumen ini"
    )


class DocumentPatch(Schema):
    """A document's JDIH status, e.g. `dicabut` by the Perda that revoked it."""

    status: DocumentStatus | None = Field(None, description="Status")
    changed_by_id: Reference = Field(
        None, description="Dokumen yang mengubah atau mencabut dokumen ini"
    )


class RecordingEditIn(Schema):
    """Trim, closed-door cuts and poster frame, on the raw recording clock."""

    trim_start: str = Field("0", description="Awal rekaman publik (detik atau j:mm:dd)")
    trim_end: str = Field("", description="Akhir rekaman publik (kosong = sampai habis)")
    cuts: str = Field(
        "", description="Bagian tertutup, satu per baris: mulai - selesai", max_length=5000
    )
    poster: str = Field("", description="Waktu gambar sampul (detik atau j:mm:dd)")


def parse(schema: type[T], data: Mapping[str, Any], *, partial: bool = False) -> T:
    """Build `schema` from JSON or form data, or raise InvalidInput naming each bad field.

    An optional field sent empty (a form's blank input, or null) counts as not sent, and a form's
    CSRF token is not a field. With `partial`, absent fields are None (for PATCH); see `provided`.
    """
    optional = {name for name, spec in schema.model_fields.items() if _nullable(spec)}
    values = {
        name: value
        for name, value in data.items()
        if name != "csrf_token" and not (name in optional and value in ("", None))
    }
    try:
        return (_partial(schema) if partial else schema).model_validate(values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            errors.setdefault(str(error["loc"][0]), _problem(error))
        raise invalid(errors) from None


def invalid(errors: dict[str, str]) -> InvalidInput:
    """The one 400 for bad fields or parameters: each named with its problem."""
    summary = "; ".join(f"{name}: {message}" for name, message in errors.items())
    return InvalidInput(N_("Data yang dikirim tidak valid: %(errors)s"), errors, errors=summary)


def provided(instance: BaseModel) -> dict[str, Any]:
    """The fields of a partial schema that were actually given."""
    return {k: v for k, v in vars(instance).items() if v is not None}


def _nullable(spec: FieldInfo) -> bool:
    return type(None) in get_args(spec.annotation)


@functools.cache
def _partial(schema: type[T]) -> type[T]:
    """`schema` with every field optional (None when absent), its checks otherwise the same."""
    fields: Any = {
        name: (spec.annotation, FieldInfo.merge_field_infos(spec, default=None))
        for name, spec in schema.model_fields.items()
    }
    return create_model(schema.__name__, __base__=schema, **fields)


def _problem(error: ErrorDetails) -> str:
    """Pydantic's error, said the way a form says it."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "string_too_short":
        return REQUIRED
    if kind == "string_too_long":
        return f"Paling banyak {ctx['max_length']} karakter."
    if kind == "greater_than_equal":
        return f"Paling kecil {_figure(ctx['ge'])}."
    if kind == "less_than_equal":
        return f"Paling besar {_figure(ctx['le'])}."
    if kind == "enum":
        choices = ", ".join(re.findall(r"'([^']*)'", ctx["expected"]))
        return f"Nilai tidak dikenal. Pilihan: {choices}."
    return PROBLEMS.get(kind.split("_")[0], InvalidInput.message)


def _figure(limit: float) -> str:
    """A limit as written in the schema: 0, not the 0.0 pydantic makes of it for a float field."""
    return str(limit).removesuffix(".0")
