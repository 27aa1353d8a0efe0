"""A team stack in Python: everything the config declares, plus code the YAML cannot say.

The fraud team builds the declared stack, then one registry group per challenger model listed
under its own config key. Challengers get the same lineage tags and registry settings, so the
policy pack and `mlstack promote` treat them like any other model.

    mlstack plan examples/fraud-python/Pulumi.fraud-dev.yaml
    pulumi up --cwd examples/fraud-python --stack fraud-dev
"""

import pulumi

from mlstack.components import ModelRegistry, ModelRegistryArgs
from mlstack.program import StackContext, build

ctx = StackContext.from_pulumi()
team = build(ctx)

challengers = pulumi.Config("fraud").get_object("challengers") or []
for challenger in challengers:
    registry = ModelRegistry(
        challenger,
        ModelRegistryArgs(
            group_name=ctx.spec.group_name(challenger),
            description=f"Challenger to {ctx.spec.models[0].name}",
            approval_mode=ctx.spec.registry.approval_mode,
            tags=ctx.lineage.tags(model=challenger, extra={"fraud:role": "challenger"}),
        ),
    )
    pulumi.export(f"challenger-{challenger}", registry.group_name)
