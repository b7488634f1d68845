"""The execution side of imm-engine: Celery tasks, processors, the warm LibreOffice."""
