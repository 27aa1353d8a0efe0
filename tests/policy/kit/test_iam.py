"""IAM policy documents read as AWS reads them (mlstack/policy/kit/iam.py)."""

from __future__ import annotations

from ..cases import KMS_POLICY, dict_document, violated
from ..graphs import iam_baseline


def test_documents_given_as_objects_are_read_like_json_strings():
    g = iam_baseline("prod")
    for name, prop in (("training-role", "assumeRolePolicy"), ("monitor-key", "policy"), ("churn-xgb-cross-account", "resourcePolicy")):
        g.get(name).inputs[prop] = dict_document(g.get(name).inputs[prop])
    assert g.check().violations == []
    g.get("monitor-key").inputs["policy"]["Statement"].append({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"})
    assert violated(g.check()) == {KMS_POLICY}
