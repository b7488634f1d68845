"""The extras a command needs for what is configured, checked before it starts anything.

A storage backend or a notification destination whose SDK is missing would otherwise fail
inside a task or a delivery; this turns it into one error at start that names the extra.
"""

from __future__ import annotations

from imm_engine.extras import require
from imm_engine.notify.senders import require_kinds, used_kinds
from imm_engine.settings import Settings
from imm_engine.storage import require_backends

CLI = "the imm-engine client (convert, tasks, task)"


def require_extras(command: str, settings: Settings, *, notifier: bool = True) -> None:
    """Raises MissingExtra for the first extra `command` needs and does not have. `notifier`:
    whether the command runs a notification dispatcher (worker --no-notifier does not)."""
    if command in ("convert", "tasks", "task"):
        require("cli", "rich", CLI)
        require("cli", "alibabacloud_imm20200930", CLI)
    if command == "flower":
        require("flower", "flower", "Flower (the Celery monitor)")
    if command in ("up", "worker"):
        require_backends(settings.storage)
    if command == "up" or (command in ("worker", "notifier") and notifier):
        require_kinds(used_kinds(settings.notify_routes))
