"""The domain's exception tree.

DomainError
 ├─ InvalidTransition   an impossible job or stage state change was asked for
 ├─ NotFound            a named thing (pipeline, instance, agent, ...) does not exist
 ├─ Conflict            the request is valid but the current state forbids it (GoCD's 409)
 └─ Invalid             the request itself is wrong (GoCD's 422)
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain or a service raises on purpose."""

    @property
    def message(self) -> str:
        return str(self)


class InvalidTransition(DomainError):
    pass


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Invalid(DomainError):
    pass
