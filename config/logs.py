"""Logging pieces the settings' LOGGING refers to."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Keep 4xx answers to one line each.

    Django attaches the exception to every 403 and 404 it logs (a viewer opening a write page, a
    stale link), so each expected refusal printed a full traceback and buried the real errors.
    The line itself (method, path, status) stays; 5xx keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
