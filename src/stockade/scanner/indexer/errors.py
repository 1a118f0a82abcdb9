"""Errors of the Indexer boundary.

    IndexerError                     anything the Indexer cannot do; exit code 3
    ├── ImageSourceError             the image cannot be read from where it was said to be
    │   ├── ImageNotFoundError       no such image, tag or blob (registry 404, missing file)
    │   ├── RegistryAuthError        the registry refused our credentials (401/403)
    │   ├── RegistryUnavailableError 429 / 5xx / network failure after every retry
    │   └── BlobDigestError          a blob's content does not match its digest
    └── LayerError                   a layer cannot be read safely
        ├── LayerLimitError          a hard limit (size, files, ratio, path length) was hit
        ├── UnsafeLayerError         ``..``, absolute paths, escaping or looping links
        └── CorruptLayerError        truncated or undecodable compression / tar

Every message is one sentence naming the image (and the layer, where there is one) and never
contains credentials.
"""

from __future__ import annotations

from stockade.core.errors import StockadeError


class IndexerError(StockadeError):
    exit_code = 3


class ImageSourceError(IndexerError):
    pass


class ImageNotFoundError(ImageSourceError):
    pass


class RegistryAuthError(ImageSourceError):
    pass


class RegistryUnavailableError(ImageSourceError):
    pass


class BlobDigestError(ImageSourceError):
    pass


class LayerError(IndexerError):
    pass


class LayerLimitError(LayerError):
    pass


class UnsafeLayerError(LayerError):
    pass


class CorruptLayerError(LayerError):
    pass
