"""The declarative stack program: reads a team's ``mlstack:*`` config and builds its components.

``stacks/__main__.py`` calls :func:`main`; ``pulumi up`` and the offline engine both run it.
Teams that need code write their own program with the same pieces::

    import pulumi
    from mlstack.program import StackContext, build

    ctx = StackContext.from_pulumi()
    team = build(ctx)                       # everything the config declares
    ...                                      # plus their own components, tagged with ctx.lineage.tags()

The YAML -> components wiring, one module per part of the stack file (the components themselves
know nothing of YAML: :mod:`mlstack.components`):

* :mod:`.context` — :class:`StackContext`, :func:`aws_provider`, how errors reach the user;
* :mod:`.team` — :class:`TeamStack` and :func:`build`, in order:
  :mod:`.registries` (``mlstack:models``), :mod:`.training` (``mlstack:featureGroups``,
  ``mlstack:models[].training``), :mod:`.serving` (``mlstack:endpoints``, with the deploy-time
  lookups of :mod:`mlstack.lookups` and the Kubernetes provider of :mod:`.kubernetes`),
  :mod:`.monitors` (``mlstack:monitors``);
* :mod:`.exports` — the stack outputs (``mlstack verify`` and ``mlstack status`` read them).
"""

from .context import StackContext, aws_provider
from .team import DEFAULT_PROGRAM, TeamStack, build, main

__all__ = ["StackContext", "TeamStack", "build", "main", "aws_provider", "DEFAULT_PROGRAM"]
