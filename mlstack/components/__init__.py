"""mlstack's Pulumi components."""

from .endpoint import Endpoint, EndpointArgs
from .feature_store import FeatureGroupSpec, FeatureStore, FeatureStoreArgs
from .endpoint_spec import EndpointSpec
from .kserve import InferenceService, InferenceServiceArgs
from .registry import ApprovalMode, ModelRegistry, ModelRegistryArgs, RegistrySettings
from .training import TrainingPipeline, TrainingPipelineArgs, TrainingSpec

__all__ = [
    "ApprovalMode",
    "Endpoint",
    "EndpointArgs",
    "EndpointSpec",
    "FeatureGroupSpec",
    "FeatureStore",
    "FeatureStoreArgs",
    "InferenceService",
    "InferenceServiceArgs",
    "ModelRegistry",
    "ModelRegistryArgs",
    "RegistrySettings",
    "TrainingPipeline",
    "TrainingPipelineArgs",
    "TrainingSpec",
]
