"""mlstack's five components for every Pulumi language: what the component package in the
repository's ``components/`` directory hosts.

``components/__main__.py`` passes :data:`COMPONENTS` to Pulumi's
``pulumi.provider.experimental.component_provider_host`` under the package name
:data:`PACKAGE`; the provider's schema (what ``pulumi package add`` turns into a TypeScript, Go,
C#, Java or YAML SDK) is inferred from the classes' annotations:

* :mod:`.components` — ``ModelRegistry``, ``FeatureStore``, ``TrainingPipeline``, ``Endpoint``,
  ``Monitor``: named like the components, so their type tokens are the same
  (``mlstack:index:Endpoint``); each builds the mlstack component from the inputs;
* :mod:`.types` — their input types, generated from :mod:`mlstack.specs` by
  :mod:`.generate` (``python -m mlstack.hosted.generate``).

No module of this package uses ``from __future__ import annotations``: the analyzer needs the
annotations as objects at run time. Python stacks use :mod:`mlstack.components` directly.
"""

import importlib.metadata

from .components import COMPONENTS, Endpoint, FeatureStore, ModelRegistry, Monitor, TrainingPipeline

__all__ = ["COMPONENTS", "PACKAGE", "NAMESPACE", "package_version", "ModelRegistry", "FeatureStore", "TrainingPipeline", "Endpoint", "Monitor"]

#: The package name: the first part of every type token (``mlstack:index:Endpoint``).
PACKAGE = "mlstack"
#: The namespace of the generated SDKs (e.g. the npm scope ``@mlstack/mlstack``).
NAMESPACE = "mlstack"


def package_version() -> str:
    """The schema's version: mlstack's own."""
    try:
        return importlib.metadata.version("mlstack")
    except importlib.metadata.PackageNotFoundError:
        from mlstack import __version__

        return __version__
