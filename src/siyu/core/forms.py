"""Console forms validated at the edge: a posted form becomes a pydantic model, or errors keyed by
field (message ids, translated where the page shows them) with the posted values to echo."""

from __future__ import annotations

import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import AfterValidator, BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from siyu.core.deps import FormDep
from siyu.core.errors import SiyuError
from siyu.core.i18n import N_

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")  # what a submission holds: a form model, or what a page built from several

# pydantic's error types and what a person is told, with %(name)s taken from the error's context.
MESSAGES = {
    "missing": N_("this field is required"),
    "int_parsing": N_("enter a whole number"),
    "int_type": N_("enter a whole number"),
    "int_from_float": N_("enter a whole number"),
    "float_parsing": N_("enter a number"),
    "decimal_parsing": N_("enter a number"),
    "greater_than": N_("must be greater than %(gt)s"),
    "greater_than_equal": N_("must be at least %(ge)s"),
    "less_than": N_("must be less than %(lt)s"),
    "less_than_equal": N_("must be at most %(le)s"),
    "string_too_long": N_("must be at most %(max_length)s characters"),
    "string_too_short": N_("must be at least %(min_length)s characters"),
    "too_long": N_("choose at most %(max_length)s"),
    "too_short": N_("choose at least %(min_length)s"),
    "literal_error": N_("choose one of the listed values"),
    "enum": N_("choose one of the listed values"),
    "date_parsing": N_("enter a date as YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("enter a date as YYYY-MM-DD"),
    "time_parsing": N_("enter a time as HH:MM"),
    "url_parsing": N_("enter a web address (https://…)"),
    "url_scheme": N_("enter a web address (https://…)"),
}
INVALID = N_("this value is not valid")


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field: a message id and the values its placeholders take."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, error: SiyuError) -> FieldError:
        """A domain error's message id and values, to be translated where it is shown."""
        return cls(error.template, error.params)


@dataclass
class Submission(Generic[T]):
    """A posted form: `data` when every field is valid, else `errors` by field name; `values`
    holds what was posted so the page can show it again."""

    values: dict[str, Any]
    data: T | None = None
    errors: dict[str, FieldError] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def ticked(self, name: str) -> list[str]:
        """Every value posted under `name` (a group of checkboxes)."""
        return self.lists.get(name, [])

    @property
    def is_valid(self) -> bool:
        return self.data is not None and not self.errors

    def refuse(self, error: SiyuError, field: str | None = None) -> Submission[T]:
        """Place a domain error raised after validation next to the field it names ('' when
        it names none), or next to `field` when the form calls the domain's field otherwise."""
        self.errors[error.field or "" if field is None else field] = FieldError.of(error)
        return self


def field_error(error: dict[str, Any]) -> FieldError:
    """A pydantic error as a message id; a validator's own ValueError keeps its message."""
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "value_error" and "error" in context:
        return FieldError(str(context["error"]))
    params = {k: v if isinstance(v, int | float) else str(v) for k, v in context.items()}
    return FieldError(MESSAGES.get(kind, INVALID), params)


def one_of(choices: Collection[str]) -> AfterValidator:
    """A field whose value must be one of `choices` (a select's options), for `Annotated`."""

    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(N_("choose one of the listed values"))
        return value

    return AfterValidator(check)


def _is_list(annotation: Any) -> bool:
    kinds = {annotation, typing.get_origin(annotation)}
    kinds |= {typing.get_origin(a) for a in typing.get_args(annotation)}
    return bool(kinds & {list, set, tuple})


def read_form(model: type[M], form: FormData, prefix: str = "") -> Submission[M]:
    """Validate `form` as `model`, its fields named `prefix` + the field's name (a table's row
    of inputs). A blank field counts as not sent, so an empty number box is the field's default
    (or 'required'), not a parse error."""
    raw: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        if _is_list(info.annotation):
            items = [v for v in form.getlist(key) if isinstance(v, str) and v.strip()]
            if items:
                raw[key.removeprefix(prefix)] = items
        elif isinstance(value := form.get(key), str) and value.strip():
            raw[key.removeprefix(prefix)] = value
    values = {k: v for k, v in form.multi_items() if k != "csrf_token" and isinstance(v, str)}
    lists: dict[str, list[str]] = {}
    for k, v in form.multi_items():
        if isinstance(v, str):
            lists.setdefault(k, []).append(v)
    try:
        return Submission(values, data=model.model_validate(raw), lists=lists)
    except ValidationError as invalid:
        errors: dict[str, FieldError] = {}
        for error in invalid.errors():
            name = prefix + str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(name, field_error(dict(error)))
        return Submission(values, errors=errors, lists=lists)


def posted(model: type[M]) -> Any:
    """The posted form validated as `model`, for `Annotated[Submission[Model], posted(Model)]`:
    the route checks `data` and re-renders its page with the submission when it is None."""

    def validate(form: FormDep) -> Submission[M]:
        return read_form(model, form)

    return Depends(validate)


def queried(model: type[M]) -> Any:
    """The query string validated as `model`, for a form sent by GET (a page's filters), as
    posted() does for a posted form: `Annotated[Submission[Model], queried(Model)]`."""

    def validate(request: Request) -> Submission[M]:
        sent: list[tuple[str, str | UploadFile]] = list(request.query_params.multi_items())
        return read_form(model, FormData(sent))

    return Depends(validate)
