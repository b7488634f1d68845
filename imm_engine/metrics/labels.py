"""Label values of the metrics (pure). Every value comes from a closed set, so no label can
grow with traffic: never a TaskId, a URI or a client-chosen string. A task's source and target
labels come from its job (`Job.metric_labels`, each task type's closed sets, through
`bounded`)."""

from __future__ import annotations

from collections.abc import Iterable

OTHER = "other"


def bounded(value: object, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`, else "other"."""
    text = str(value) if value is not None else ""
    return text if text in set(allowed) else OTHER


def action(name: str, known: Iterable[str]) -> str:
    """An API action label: the action if the API knows it, else "other"."""
    return bounded(name, known)


def error_code(code: str) -> str:
    """A task's Code (a fixed vocabulary of imm-engine's own codes), at most 64 characters."""
    return code[:64]
