"""mlstack's Pulumi components, one noun a module or folder: :mod:`.registry`,
:mod:`.feature_store`, :mod:`.training`, :mod:`.endpoint` (SageMaker and KServe),
:mod:`.monitor`, :mod:`.tracking` (an MLflow tracking server), :mod:`.audit` (the decision log's bucket and signing key); :mod:`.secure` holds the secure defaults they share and :mod:`.base` the
component base class and :class:`ComponentError`, the one error a bad argument raises.

Components know nothing of stack files (that wiring is :mod:`mlstack.program`) and take other
components as objects. The specs their arguments take are re-exported from :mod:`mlstack.specs`
(where each is defined), so a Python stack imports a component and its inputs from one place.
"""

from ..specs.endpoint import EndpointSpec
from ..specs.features import FeatureGroupSpec
from ..specs.card import ModelCardSpec
from ..specs.registry import ApprovalMode, RegistrySpec
from ..specs.tracking import TrackingSpec
from ..specs.training import TrainingSpec
from .audit import AuditLog, AuditLogArgs
from .base import ComponentError
from .endpoint import Endpoint, EndpointArgs, InferenceService, InferenceServiceArgs
from .feature_store import FeatureStore, FeatureStoreArgs
from .monitor import Monitor, MonitorArgs, PrometheusAlerts, PrometheusAlertsArgs
from .registry import ModelRegistry, ModelRegistryArgs
from .tracking import ExperimentTracking, ExperimentTrackingArgs
from .training import TrainingPipeline, TrainingPipelineArgs

__all__ = [
    "ApprovalMode",
    "AuditLog",
    "AuditLogArgs",
    "ComponentError",
    "Endpoint",
    "EndpointArgs",
    "EndpointSpec",
    "ExperimentTracking",
    "ExperimentTrackingArgs",
    "FeatureGroupSpec",
    "FeatureStore",
    "FeatureStoreArgs",
    "InferenceService",
    "InferenceServiceArgs",
    "ModelCardSpec",
    "ModelRegistry",
    "ModelRegistryArgs",
    "Monitor",
    "MonitorArgs",
    "PrometheusAlerts",
    "PrometheusAlertsArgs",
    "RegistrySpec",
    "TrainingPipeline",
    "TrainingPipelineArgs",
    "TrainingSpec",
    "TrackingSpec",
]
