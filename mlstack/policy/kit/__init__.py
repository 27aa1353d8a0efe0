"""What the policies share; no policy lives here (one policy a module is in :mod:`mlstack.policy.rules`).

============================  ===============================================================
:mod:`.values`                reading properties as CrossGuard hands them (unknown values, memo)
:mod:`.stack`                 the stack's environment and config
:mod:`.settings`              pieces of a policy's config schema (environments, per environment)
:mod:`.documents`             JSON documents inside properties, pipeline parameters
:mod:`.pipelines`             pipeline steps, SageMaker jobs and their volumes
:mod:`.resource_types`        type tokens several policies judge
:mod:`.index`                 the stack as an index, and the links between resources
:mod:`.models`                versioned model package ARNs
:mod:`.iam`                   IAM policy documents read as AWS evaluates them
:mod:`.accounts`              the accounts a stack's policies may name
:mod:`.stores`                stores beyond S3 and SageMaker that must name a customer KMS key
:mod:`.alarms`                what a CloudWatch alarm can and cannot do
:mod:`.offline`               what an offline plan recorded but could not run
:mod:`.topics`                the topics (tags) policies are filed under
:mod:`.config`                the pack config: levels and properties, reconciled as the CLI does
:mod:`.snapshot`              botocore and pulumi-aws facts recorded for a published pack
============================  ===============================================================

Every module is small and imports nothing heavy: ``mlstack policy-pack build`` vendors them.
"""
