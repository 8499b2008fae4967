"""What a failure means to a caller, independent of where it happened.

Services and engines raise their own errors; these two bases let the one API exception handler
(``calsync.errors.api_exception_handler``) answer them without knowing every app: a
``StateConflict`` is a 409 (the request contradicts the current state: a run already active, an
account still in use), an ``UpstreamError`` a 502 (a remote server could not be asked).
"""

from __future__ import annotations


class StateConflict(Exception):
    """The request contradicts the current state of what it names; the message says why."""


class UpstreamError(Exception):
    """A remote system could not be asked, or refused; the message says which and why."""
