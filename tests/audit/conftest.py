"""Fixtures for the decision log tests: the day-2 fixtures (``aws``, ``registry``, ``ops_stack``)
and ``audit_log``, an audit bucket (Object Lock, versioned) and an ECC_NIST_P256 signing key
deployed on the AWS test endpoint as the AuditLog component deploys them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ops.conftest import REGION, aws, ops_stack, registry  # noqa: F401 - shared fixtures

from mlstack.specs.audit import audit_bucket_name, signing_key_alias

ACCOUNT = "123456789012"  # moto's account


@dataclass
class AuditWorld:
    session: Any
    bucket: str
    key_arn: str
    stack: str

    @property
    def s3(self) -> Any:
        return self.session.client("s3")

    @property
    def kms(self) -> Any:
        return self.session.client("kms")


def deploy_log(
    session: Any, stack: str = "churn-dev", *, lock: bool = True, mode: str = "COMPLIANCE", days: int = 30, years: int | None = None
) -> AuditWorld:
    s3, kms = session.client("s3"), session.client("kms")
    bucket = audit_bucket_name(stack, ACCOUNT, REGION)
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=lock)
    if lock:
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, **({"Years": years} if years else {"Days": days})}}},
        )
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=signing_key_alias(stack), TargetKeyId=key)
    return AuditWorld(session, bucket, key, stack)


@pytest.fixture
def audit_log(aws_session) -> AuditWorld:
    return deploy_log(aws_session)


@pytest.fixture
def governed_log(aws_session) -> AuditWorld:
    """A log in governance mode: the one place a test can remove a locked record (truncation)."""
    return deploy_log(aws_session, mode="GOVERNANCE")


@pytest.fixture
def audit_stack(ops_stack):  # noqa: F811
    """A churn-dev stack (us-east-1) with the decision log switched on."""

    def write(**changes: Any):
        return ops_stack(**{"mlstack:audit": {"enabled": True}, **changes})

    return write
