"""The five components and their Python arguments, as the component package builds them.

Everything the package needs of :mod:`mlstack.components` is imported here, through its public
exports, so a change of layout there touches one file here.
"""

from mlstack.components import (
    Endpoint,
    EndpointArgs,
    FeatureStore,
    FeatureStoreArgs,
    ModelRegistry,
    ModelRegistryArgs,
    Monitor,
    MonitorArgs,
    TrainingPipeline,
    TrainingPipelineArgs,
)
from mlstack.components.endpoint import EndpointMetrics

__all__ = [
    "Endpoint",
    "EndpointArgs",
    "EndpointMetrics",
    "FeatureStore",
    "FeatureStoreArgs",
    "ModelRegistry",
    "ModelRegistryArgs",
    "Monitor",
    "MonitorArgs",
    "TrainingPipeline",
    "TrainingPipelineArgs",
]
