"""The platform's business rules, one module per resource, below every front end.

The REST routers, ``helan admin``, apps and future features call these functions instead of
each other, so each rule (a gateway is one level deep, a duplicate is a conflict, an API key's
scopes are known ones) has one implementation. Callers authenticate and authorise; a service
takes the acting principal and writes the audit trail itself, so every path is audited alike.
Inputs are plain values or small frozen dataclasses and results ORM rows or dataclasses: the
request and response shapes of a front end stay in that front end.
"""
