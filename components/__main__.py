"""mlstack's component package: hosts ModelRegistry, FeatureStore, TrainingPipeline, Endpoint and
Monitor for every Pulumi language.

The Pulumi CLI runs this file as ``python <this directory> <engine address>`` (PulumiPlugin.yaml);
Pulumi's component provider host infers the package schema from the classes' annotations
(:mod:`mlstack.hosted`) and builds the components when a program in any language creates one.
Type tokens are the Python components' own: ``mlstack:index:Endpoint`` and so on.
"""

from pulumi.provider.experimental import component_provider_host

from mlstack.hosted import NAMESPACE, PACKAGE, Endpoint, FeatureStore, ModelRegistry, Monitor, TrainingPipeline, package_version

if __name__ == "__main__":
    component_provider_host(
        components=[ModelRegistry, FeatureStore, TrainingPipeline, Endpoint, Monitor],
        name=PACKAGE,
        namespace=NAMESPACE,
        version=package_version(),
    )
