"""mlstack's Pulumi components.

The specs their arguments take are re-exported from :mod:`mlstack.specs` (where each is
defined), so a Python stack imports a component and its inputs from one place.
"""

from ..specs.endpoint import EndpointSpec
from ..specs.features import FeatureGroupSpec
from ..specs.registry import ApprovalMode, RegistrySpec
from ..specs.training import TrainingSpec
from .base import ComponentError
from .endpoint import Endpoint, EndpointArgs, InferenceService, InferenceServiceArgs
from .feature_store import FeatureStore, FeatureStoreArgs
from .monitor import Monitor, MonitorArgs
from .registry import ModelRegistry, ModelRegistryArgs
from .training import TrainingPipeline, TrainingPipelineArgs

__all__ = [
    "ApprovalMode",
    "ComponentError",
    "Endpoint",
    "EndpointArgs",
    "EndpointSpec",
    "FeatureGroupSpec",
    "FeatureStore",
    "FeatureStoreArgs",
    "InferenceService",
    "InferenceServiceArgs",
    "ModelRegistry",
    "Monitor",
    "MonitorArgs",
    "ModelRegistryArgs",
    "RegistrySpec",
    "TrainingPipeline",
    "TrainingPipelineArgs",
    "TrainingSpec",
]
