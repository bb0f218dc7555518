"""Message templates (消息模板): Jinja2 in its sandbox, with every variable required.

A template sees the customer it is rendered for: `name`, `id`, `traits` (all of them, e.g.
`traits.city`), `guide` (their guide's name), `store` (their store's name), and the message's
`links` (tracked short links, `links[0]` for the content's first) and `unsubscribe_url`. A
variable the customer lacks is an error: check() names it at preview time, and render() refuses
rather than send a message with a blank in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

# The names a template may use; `links` and `unsubscribe_url` are filled in per delivery.
VARIABLES = ("name", "id", "traits", "guide", "store", "links", "unsubscribe_url")
MAX_TEMPLATE = 20_000
_UNDEFINED = re.compile(r"'(?:[^']*? object' has no attribute '|)([^']+)'")


class TemplateProblem(ValueError):
    """A template that cannot be rendered: the variable (or line) at fault, and why."""

    def __init__(self, message: str, variable: str | None = None):
        super().__init__(message)
        self.message, self.variable = message, variable


@dataclass(frozen=True)
class Problem:
    field: str  # the template's field: subject, text, html, or extras.<name>
    message: str
    variable: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "variable": self.variable}


@lru_cache(maxsize=2)
def _environment(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True
    )


@lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> Any:
    return _environment(html).from_string(source)


def render(template: str, customer_ctx: dict[str, Any], *, html: bool = False) -> str:
    """The template rendered for one customer (HTML-escaped values when `html`); raises
    TemplateProblem naming the missing variable."""
    if len(template) > MAX_TEMPLATE:
        raise TemplateProblem(f"a template is at most {MAX_TEMPLATE} characters")
    try:
        return str(_compiled(template, html).render(customer_ctx))
    except UndefinedError as problem:
        variable = _variable_of(str(problem))
        raise TemplateProblem(f"{variable or 'a variable'} is missing", variable) from None
    except TemplateSyntaxError as problem:
        raise TemplateProblem(f"line {problem.lineno}: {problem.message}") from None
    except TemplateError as problem:  # the sandbox refusing an attribute, a bad filter
        raise TemplateProblem(str(problem)) from None


def _variable_of(message: str) -> str | None:
    found = _UNDEFINED.search(message)
    return found.group(1) if found else None


def check(template: str, sample_ctx: dict[str, Any], field: str = "text") -> list[Problem]:
    """What keeps a template from rendering for this sample customer: unknown or missing
    variables (each named), syntax errors. Empty when it renders."""
    problems = []
    try:
        parsed = _environment(False).parse(template)
    except TemplateSyntaxError as error:
        return [Problem(field, f"line {error.lineno}: {error.message}")]
    for name in sorted(meta.find_undeclared_variables(parsed)):
        if name not in sample_ctx:
            known = ", ".join(VARIABLES)
            problems.append(Problem(field, f"{name} is not a variable here ({known})", name))
    if problems:
        return problems
    try:
        render(template, sample_ctx, html=field == "html")
    except TemplateProblem as problem:
        problems.append(Problem(field, problem.message, problem.variable))
    return problems


def context(
    customer_id: int,
    traits: dict[str, Any] | None,
    *,
    guide: str | None = None,
    store: str | None = None,
    links: list[str] | None = None,
    unsubscribe_url: str | None = None,
) -> dict[str, Any]:
    """A customer's template variables. What the customer lacks is left out (not blank), so a
    template that uses it fails instead of sending a gap."""
    ctx: dict[str, Any] = {"id": customer_id, "traits": dict(traits or {})}
    name = (traits or {}).get("name")
    for key, value in (("name", name), ("guide", guide), ("store", store)):
        if value not in (None, ""):
            ctx[key] = value
    ctx["links"] = list(links or [])
    if unsubscribe_url:
        ctx["unsubscribe_url"] = unsubscribe_url
    return ctx


def render_content(
    parts: dict[str, Any], customer_ctx: dict[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """Each text part of a message's content (subject, text, html, and the string values of
    its extras, one level down) rendered for one customer; the problems, by field."""
    rendered: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in parts.items():
        if isinstance(value, str):
            rendered[key] = _render_part(key, value, customer_ctx, problems)
        elif isinstance(value, dict):
            rendered[key] = {
                k: _render_part(f"{key}.{k}", v, customer_ctx, problems)
                if isinstance(v, str)
                else v
                for k, v in value.items()
            }
        else:
            rendered[key] = value
    return rendered, problems


def _render_part(field: str, source: str, ctx: dict[str, Any], problems: list[Problem]) -> str:
    try:
        return render(source, ctx, html=field == "html")
    except TemplateProblem as problem:
        problems.append(Problem(field, problem.message, problem.variable))
        return ""
