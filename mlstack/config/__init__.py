"""Finding, reading and validating team stack files.

A stack is named like ``churn-prod`` (the file ``stacks/Pulumi.churn-prod.yaml`` of the
project found from the current directory) or given as a path. Every problem in a file is
reported at once with the file, line, key path, bad value and a fix.

Values are read as the Pulumi CLI would hand them to the program under ``pulumi up``:

- a ``{secure: <ciphertext>}`` leaf (``pulumi config set --secret --path mlstack:...``) is
  never decrypted: offline it stands in as ``[secret]``. It is accepted only in the fields
  whose schema carries :data:`SECRET_OK` (the component passes them on as Pulumi secrets);
  anywhere else its value would reach AWS and the state in plain text, so it is refused.
  The engine marks a whole top-level key secret when any leaf below it is
  (``Map.SecureKeys`` in pulumi/pulumi ``sdk/go/common/resource/config/map.go``), so the
  program learns ``mlstack:monitors`` is secret, not which leaf.
- numbers and booleans YAML gives for text fields (``--path`` writes digit strings as
  integers) become the text the CLI hands the program; a scalar the CLI would read
  differently from how it is written (``1.40`` becomes ``1.4``, ``0123`` becomes ``83``) is
  refused with a hint to quote it.
- ESC ``environment:`` imports cannot be opened offline: a warning says so, and a missing
  required key says it may come from there.

Modules: ``project`` (Pulumi.yaml, finding a stack's file), ``stackfile`` (:func:`load_stack`),
``yamlfile`` (the bounded YAML reader and line map), ``validate`` (the ``mlstack:*`` keys into a
spec), ``reader``, ``scalars`` and ``secrets`` (values as the CLI hands them), ``esc``
(ESC imports), ``schema`` (the keys' JSON Schema by path).
"""

from __future__ import annotations

from ..lazy import lazy_exports

# Names resolved on first use (PEP 562), so that importing one light submodule (``project``, to
# find a stack's file before starting a plan worker) does not import the specs behind the rest.
_EXPORTS = {
    "MAX_DOCUMENT_BYTES": "..files",
    "Project": ".project",
    "find_project": ".project",
    "resolve_stack_file": ".project",
    "stack_inputs": ".project",
    "SECRET": ".secrets",
    "SECRET_OK": ".secrets",
    "is_secure": ".secrets",
    "secret_fields": ".secrets",
    "secure_keys": ".secrets",
    "StackFile": ".stackfile",
    "load_stack": ".stackfile",
    "spec_from_config": ".validate",
    "MAX_YAML_DEPTH": ".yamlfile",
    "MAX_YAML_NODES": ".yamlfile",
}


__getattr__ = lazy_exports(__name__, _EXPORTS, namespace=globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "Project",
    "StackFile",
    "find_project",
    "resolve_stack_file",
    "load_stack",
    "stack_inputs",
    "spec_from_config",
    "is_secure",
    "secure_keys",
    "secret_fields",
    "SECRET",
    "SECRET_OK",
    "MAX_DOCUMENT_BYTES",
    "MAX_YAML_NODES",
    "MAX_YAML_DEPTH",
]
