"""Upload validation for the service: archives, model files, datasets. Pure Python, no torch."""

from service.validation.archives import (
    StoredModel,
    store_model_archive,
    validate_model_archive,
    validate_model_directory,
)
from service.validation.dataset_files import (
    DatasetManifest,
    store_dataset_file,
    validate_dataset_file,
)
from service.validation.errors import REJECTION_CODES, UploadRejected
from service.validation.limits import DEFAULT_LIMITS, UploadLimits
from service.validation.model_files import SUPPORTED_ARCHITECTURES, ModelManifest

__all__ = [
    "DEFAULT_LIMITS", "REJECTION_CODES", "SUPPORTED_ARCHITECTURES", "DatasetManifest",
    "ModelManifest", "StoredModel", "UploadLimits", "UploadRejected", "store_dataset_file",
    "store_model_archive", "validate_dataset_file", "validate_model_archive",
    "validate_model_directory",
]
