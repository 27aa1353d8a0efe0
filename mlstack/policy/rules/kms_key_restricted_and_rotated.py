"""Checks that a stack's KMS keys are usable only by declared accounts, and rotate
(``mlstack-kms-key-restricted-and-rotated``).

* A key policy (``aws.kms.Key(policy=...)``, ``aws.kms.KeyPolicy``, replica keys) must not open
  the key to ``*``: ``Principal: "*"`` / ``{"AWS": "*"}`` / ``NotPrincipal`` in an Allow needs a
  condition limiting callers to declared accounts (``kms:CallerAccount``, ``aws:PrincipalAccount``,
  ``aws:PrincipalArn``, ``aws:SourceAccount``). AWS principals must belong to declared accounts
  (the stack's own, its ``crossAccountReaders``, ``trustedAccounts``). A key without a ``policy``
  gets AWS's default key policy (its own account's root), which passes.
* A symmetric encryption key (``customerMasterKeySpec`` SYMMETRIC_DEFAULT, ``keyUsage``
  ENCRYPT_DECRYPT, not in a custom key store) must set ``enableKeyRotation: true``: the provider's
  default is false, and AWS rotates only when asked. Asymmetric, HMAC and custom-key-store keys
  cannot rotate automatically and are left alone.

Service principals in key policies are judged by ``mlstack-service-principal-has-source-condition``.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, Severity, ReportViolation, StackValidationArgs, StackValidationPolicy

from ..kit.accounts import account_properties, principal_problems, stack_prelude
from ..kit.iam import KEY_POLICIES, documents_of, kind_name
from ..kit.settings import environments_property
from ..kit.stack import ENVIRONMENTS
from ..kit.values import UNKNOWN, get, is_set

__all__ = ["POLICY", "NAME"]

NAME = "mlstack-kms-key-restricted-and-rotated"
KEY = "aws:kms/key:Key"


def _rotates_automatically(props: object) -> bool:
    """Whether AWS can rotate this key automatically (symmetric encryption keys in AWS KMS)."""
    spec = get(props, "customerMasterKeySpec")
    usage = get(props, "keyUsage")
    if spec not in (None, "SYMMETRIC_DEFAULT") or usage not in (None, "ENCRYPT_DECRYPT"):
        return False
    return not is_set(get(props, "customKeyStoreId"))


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prelude = stack_prelude(args)
    if prelude is None:
        return
    index, accounts = prelude
    for resource, prop, parsed in documents_of(index, KEY_POLICIES):
        kind = kind_name(resource.resource_type)
        if parsed.duplicates:
            report_violation(
                f"{kind} {resource.name!r} {prop} must write each key once, but repeats {', '.join(map(repr, parsed.duplicates))}: "
                "parsers disagree about which one counts. Remove the repeated keys.",
                resource.urn,
            )
        for statement in parsed.statements:
            for problem in principal_problems(statement, accounts, opens="opens the key to everyone"):
                report_violation(f"{kind} {resource.name!r} key policy statement {statement.label} {problem}", resource.urn)
    for key in index.of_type(KEY):
        rotation = get(key.props, "enableKeyRotation")
        if rotation is True or rotation is UNKNOWN or not _rotates_automatically(key.props):
            continue
        report_violation(
            f"KMS key {key.name!r} must rotate its key material yearly, but enableKeyRotation is "
            f"{'not set (the default is false)' if rotation is None else repr(rotation)}; set "
            "enable_key_rotation=True (old material stays available to decrypt).",
            key.urn,
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "Checks that KMS key policies are not open to \"*\" without a condition limiting callers to declared accounts, "
        "name only the stack's own account (mlstack:accountId), its crossAccountReaders or trustedAccounts, and that "
        "symmetric keys have automatic rotation on."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["encryption", "iam", "accounts"],
    display_name="KMS keys restricted to declared accounts and rotated",
    config_schema=PolicyConfigSchema(
        properties={
            "environments": environments_property(ENVIRONMENTS, "KMS keys must be restricted to declared accounts and rotate"),
            **account_properties(),
        }
    ),
    remediation_steps="Give keys a policy naming the stack's account (or none: AWS's default), and enable_key_rotation=True.",
)
