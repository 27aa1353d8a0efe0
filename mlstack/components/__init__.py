"""mlstack's Pulumi components, one noun a module or folder: :mod:`.registry`,
:mod:`.feature_store`, :mod:`.training`, :mod:`.endpoint` (SageMaker and KServe),
:mod:`.monitor`, :mod:`.audit` (the decision log's bucket and signing key); :mod:`.secure`
holds the secure defaults they share and :mod:`.base` the component base class and :class:`ComponentError`, the one error a bad argument raises.

Components know nothing of stack files (that wiring is :mod:`mlstack.program`) and take other
components as objects. The specs their arguments take are re-exported from :mod:`mlstack.specs`
(where each is defined), so a Python stack imports a component and its inputs from one place.
"""

from ..specs.endpoint import EndpointSpec
from ..specs.features import FeatureGroupSpec
from ..specs.registry import ApprovalMode, RegistrySpec
from ..specs.training import TrainingSpec
from .audit import AuditLog, AuditLogArgs
from .base import ComponentError
from .endpoint import Endpoint, EndpointArgs, InferenceService, InferenceServiceArgs
from .feature_store import FeatureStore, FeatureStoreArgs
from .monitor import Monitor, MonitorArgs
from .registry import ModelRegistry, ModelRegistryArgs
from .training import TrainingPipeline, TrainingPipelineArgs

__all__ = [
    "ApprovalMode",
    "AuditLog",
    "AuditLogArgs",
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
    "ModelRegistryArgs",
    "Monitor",
    "MonitorArgs",
    "RegistrySpec",
    "TrainingPipeline",
    "TrainingPipelineArgs",
    "TrainingSpec",
]
