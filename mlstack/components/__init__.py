"""mlstack's Pulumi components."""

from .registry import ApprovalMode, ModelRegistry, ModelRegistryArgs, RegistrySettings

__all__ = ["ApprovalMode", "ModelRegistry", "ModelRegistryArgs", "RegistrySettings"]
