"""The signed, append-only decision log (``mlstack:audit``).

* :mod:`.record` — the record format, canonical bytes, digest and what is signed;
* :mod:`.log` — :class:`DecisionLog`: locate a stack's log, append one signed record exactly once;
* :mod:`.verify` — :func:`verify_log`: walk the log and report gaps, edits, broken links, bad signatures;
* :mod:`.hooks` — the one call ``mlstack promote`` and ``mlstack verify`` each make;
* :mod:`.cli` — ``mlstack audit verify STACK``.

The bucket and signing key are created by :class:`mlstack.components.audit.AuditLog`.
"""

__all__ = ["record", "log", "verify", "hooks"]
