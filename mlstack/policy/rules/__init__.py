"""mlstack's policies, one a module, each module named for its policy (``mlstack-<name>`` →
``rules/<name with _>.py``) and defining exactly ``POLICY`` (with its ``NAME``, severity and
``tags``, the topics of :mod:`mlstack.policy.kit.topics`); the helpers they share are in
:mod:`mlstack.policy.kit`. :mod:`mlstack.policy.pack` lists them in the order they are reported.

Importing this package imports no rule: each loads when :mod:`mlstack.policy.pack` (or a test)
asks for it.
"""


def policy_names() -> set[str]:
    """The names of the pack's policies, read from this package's modules (``rules/<name>.py``
    defines ``mlstack-<name with ->``) without importing them, or the pack."""
    from pathlib import Path

    return {f"mlstack-{path.stem.replace('_', '-')}" for path in Path(__file__).parent.glob("*.py") if path.stem != "__init__"}
