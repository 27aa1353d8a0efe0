"""Where a Monitor's alarms notify: an SNS topic encrypted with a KMS key (rotation on), with
e-mail and HTTPS subscriptions — or a topic and key you bring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

__all__ = ["Notifications", "notifications"]


@dataclass(frozen=True)
class Notifications:
    key: Optional[aws.kms.Key]
    """The key mlstack made (None when you bring one, or nothing needs one)."""
    kms_key_arn: Optional[pulumi.Output[str]]
    """The key of the topic and the drift runs (yours or mlstack's)."""
    topic: Optional[aws.sns.Topic]
    """The topic mlstack made (None when you bring one)."""
    topic_arn: pulumi.Output[str]


def notifications(
    name: str, args: Any, *, region: pulumi.Input[str], account: pulumi.Input[str], partition: pulumi.Input[str], parent: pulumi.Resource
) -> Notifications:
    """The key and topic of a monitor with settings ``args`` (MonitorArgs): yours, or
    ``<name>-key`` and ``<name>-topic`` with its ``<name>-email-<i>`` and ``<name>-https-<i>``
    subscriptions. A key is made when you bring none and it encrypts something: the topic mlstack
    makes, or the drift runs."""
    n = args.notifications
    child = pulumi.ResourceOptions(parent=parent)
    key: Optional[aws.kms.Key] = None
    needs_key = not n.kms_key_arn and (not n.topic_arn or args.drift is not None)
    if needs_key:
        key = aws.kms.Key(
            f"{name}-key",
            description=f"mlstack monitor {args.alarm_prefix}: alarm topic and drift runs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersThroughIam",
                            "Effect": "Allow",
                            "Principal": {"AWS": pulumi.Output.concat("arn:", partition, ":iam::", account, ":root")},
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            # CloudWatch publishes alarm notifications to the encrypted topic.
                            "Sid": "CloudWatchAlarmsPublishToTopic",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                            # Only this account's alarms in this region (confused-deputy protection).
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": account},
                                "ArnLike": {
                                    "aws:SourceArn": pulumi.Output.concat(
                                        "arn:", partition, ":cloudwatch:", region, ":", account, ":alarm:*"
                                    )
                                },
                            },
                        },
                    ],
                }
            ),
            tags=args.tags,
            opts=child,
        )
    kms_key_arn: Optional[pulumi.Output[str]] = (
        pulumi.Output.from_input(n.kms_key_arn) if n.kms_key_arn else key.arn if key else None
    )
    if n.topic_arn:
        return Notifications(key, kms_key_arn, None, pulumi.Output.from_input(n.topic_arn))
    topic = aws.sns.Topic(
        f"{name}-topic",
        kms_master_key_id=kms_key_arn,
        tags=args.tags,
        opts=child,
    )

    def endpoint(value: str) -> pulumi.Input[str]:
        # From a secret config key (a webhook URL with a token): never plain in state or previews.
        return pulumi.Output.secret(value) if args.secret_notifications else value

    for i, address in enumerate(n.emails):
        aws.sns.TopicSubscription(f"{name}-email-{i}", topic=topic.arn, protocol="email", endpoint=endpoint(address), opts=child)
    for i, url in enumerate(n.https):
        aws.sns.TopicSubscription(
            f"{name}-https-{i}", topic=topic.arn, protocol="https", endpoint=endpoint(url), endpoint_auto_confirms=False, opts=child
        )
    return Notifications(key, kms_key_arn, topic, topic.arn)
