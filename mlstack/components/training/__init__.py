"""TrainingPipeline: a SageMaker pipeline that preprocesses, trains, evaluates, gates and
registers a model's versions in its ModelRegistry.

* :mod:`.pipeline` — the component and its arguments;
* :mod:`.definition` — the pipeline definition, built with the sagemaker SDK;
* :mod:`.sdk` — whether the SDK is installed, and the offline sandbox it builds in;
* :mod:`.iam` — the key policy and the roles' policies;
* :mod:`.lambdas` — the code of the Lambda that reads the last Approved version's metrics.
"""

from .pipeline import TrainingPipeline, TrainingPipelineArgs
from .sdk import SDK_EXTRA, require_sdk, sdk_missing

__all__ = ["TrainingPipeline", "TrainingPipelineArgs", "SDK_EXTRA", "require_sdk", "sdk_missing"]
