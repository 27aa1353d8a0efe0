"""How long the decision log takes to append a record and to verify a log of N records.

Against moto in server mode on 127.0.0.1 (S3 Object Lock, KMS ECC_NIST_P256 sign): the append of
one record (STS, Object Lock check, a full ListObjectVersions for the head, GetObject of the
head, KMS Sign, conditional PutObject) and ``verify_log`` over the whole log (one GetObject per
record, local ECDSA verification). Against AWS the per-call latency dominates: multiply the calls.

    python benchmarks/audit_log.py [--sizes 10,100,300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1", MLSTACK_GIT_COMMIT="c0ffee",
    )
    import urllib.request

    import boto3
    import yaml

    from mlstack.audit.log import DecisionLog
    from mlstack.audit.verify import verify_log
    from mlstack.config import load_stack
    from mlstack.ops import Aws, AwsSettings
    from mlstack.specs.audit import audit_bucket_name, signing_key_alias

    print(f"{'records':>8} {'append ms (mean)':>17} {'verify s':>9} {'verify ms/record':>17}")
    for size in sizes:
        urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"))
        s3, kms = boto3.client("s3", region_name="us-east-1"), boto3.client("kms", region_name="us-east-1")
        bucket = audit_bucket_name("churn-dev", "123456789012", "us-east-1")
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}}
        )
        key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName=signing_key_alias("churn-dev"), TargetKeyId=key)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "Pulumi.churn-dev.yaml"
            config = {"aws:region": "us-east-1", "mlstack:team": "churn", "mlstack:environment": "dev", "mlstack:owner": "a@example.com",
                      "mlstack:models": [{"name": "churn-xgb"}], "mlstack:audit": {"enabled": True}}
            path.write_text(yaml.safe_dump({"config": config}))
            log = DecisionLog.for_stack(Aws(AwsSettings(region="us-east-1", max_attempts=1)), load_stack(path))
            assert log is not None
            started = time.perf_counter()
            for i in range(size):
                log.append("verify", {"result": "as-declared", "endpoints": [], "i": i})
            append = (time.perf_counter() - started) / size
            started = time.perf_counter()
            report = verify_log(log)
            verify = time.perf_counter() - started
            assert report.ok and report.records == size, report.render()
        print(f"{size:>8} {append * 1000:>17.1f} {verify:>9.2f} {verify / size * 1000:>17.1f}")
    server.stop()


if __name__ == "__main__":
    main()
