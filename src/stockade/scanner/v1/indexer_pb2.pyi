from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegistryCredentials(_message.Message):
    __slots__ = ("username", "password")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class CreateIndexReportRequest(_message.Message):
    __slots__ = ("image", "platform", "insecure_registry", "credentials")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    INSECURE_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    image: str
    platform: str
    insecure_registry: bool
    credentials: RegistryCredentials
    def __init__(self, image: _Optional[str] = ..., platform: _Optional[str] = ..., insecure_registry: _Optional[bool] = ..., credentials: _Optional[_Union[RegistryCredentials, _Mapping]] = ...) -> None: ...

class GetIndexReportRequest(_message.Message):
    __slots__ = ("manifest_digest",)
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    manifest_digest: str
    def __init__(self, manifest_digest: _Optional[str] = ...) -> None: ...

class HasIndexReportRequest(_message.Message):
    __slots__ = ("manifest_digest",)
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    manifest_digest: str
    def __init__(self, manifest_digest: _Optional[str] = ...) -> None: ...

class HasIndexReportResponse(_message.Message):
    __slots__ = ("exists",)
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    def __init__(self, exists: _Optional[bool] = ...) -> None: ...

class Distribution(_message.Message):
    __slots__ = ("did", "name", "version", "version_id", "version_codename", "pretty_name", "cpe", "id_like", "variant")
    DID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_CODENAME_FIELD_NUMBER: _ClassVar[int]
    PRETTY_NAME_FIELD_NUMBER: _ClassVar[int]
    CPE_FIELD_NUMBER: _ClassVar[int]
    ID_LIKE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    did: str
    name: str
    version: str
    version_id: str
    version_codename: str
    pretty_name: str
    cpe: str
    id_like: _containers.RepeatedScalarFieldContainer[str]
    variant: str
    def __init__(self, did: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., version_id: _Optional[str] = ..., version_codename: _Optional[str] = ..., pretty_name: _Optional[str] = ..., cpe: _Optional[str] = ..., id_like: _Optional[_Iterable[str]] = ..., variant: _Optional[str] = ...) -> None: ...

class Package(_message.Message):
    __slots__ = ("name", "version", "kind", "ecosystem", "purl", "path", "analyser", "analyser_version", "layer", "source_name", "source_version", "arch", "repository_ids")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ECOSYSTEM_FIELD_NUMBER: _ClassVar[int]
    PURL_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ANALYSER_FIELD_NUMBER: _ClassVar[int]
    ANALYSER_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_IDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    kind: str
    ecosystem: str
    purl: str
    path: str
    analyser: str
    analyser_version: str
    layer: str
    source_name: str
    source_version: str
    arch: str
    repository_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., kind: _Optional[str] = ..., ecosystem: _Optional[str] = ..., purl: _Optional[str] = ..., path: _Optional[str] = ..., analyser: _Optional[str] = ..., analyser_version: _Optional[str] = ..., layer: _Optional[str] = ..., source_name: _Optional[str] = ..., source_version: _Optional[str] = ..., arch: _Optional[str] = ..., repository_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Layer(_message.Message):
    __slots__ = ("digest", "diff_id", "media_type", "size")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    digest: str
    diff_id: str
    media_type: str
    size: int
    def __init__(self, digest: _Optional[str] = ..., diff_id: _Optional[str] = ..., media_type: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class Label(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ImageMetadata(_message.Message):
    __slots__ = ("created", "user", "labels", "exposed_ports", "env", "entrypoint", "cmd", "working_dir", "os", "architecture", "history")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_PORTS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    CMD_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    created: str
    user: str
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    exposed_ports: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.RepeatedScalarFieldContainer[str]
    entrypoint: _containers.RepeatedScalarFieldContainer[str]
    cmd: _containers.RepeatedScalarFieldContainer[str]
    working_dir: str
    os: str
    architecture: str
    history: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, created: _Optional[str] = ..., user: _Optional[str] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., exposed_ports: _Optional[_Iterable[str]] = ..., env: _Optional[_Iterable[str]] = ..., entrypoint: _Optional[_Iterable[str]] = ..., cmd: _Optional[_Iterable[str]] = ..., working_dir: _Optional[str] = ..., os: _Optional[str] = ..., architecture: _Optional[str] = ..., history: _Optional[_Iterable[str]] = ...) -> None: ...

class IndexReport(_message.Message):
    __slots__ = ("manifest_digest", "image", "state", "metadata", "layers", "distributions", "packages", "red_hat_image", "errors")
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    RED_HAT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    manifest_digest: str
    image: str
    state: str
    metadata: ImageMetadata
    layers: _containers.RepeatedCompositeFieldContainer[Layer]
    distributions: _containers.RepeatedCompositeFieldContainer[Distribution]
    packages: _containers.RepeatedCompositeFieldContainer[Package]
    red_hat_image: bool
    errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, manifest_digest: _Optional[str] = ..., image: _Optional[str] = ..., state: _Optional[str] = ..., metadata: _Optional[_Union[ImageMetadata, _Mapping]] = ..., layers: _Optional[_Iterable[_Union[Layer, _Mapping]]] = ..., distributions: _Optional[_Iterable[_Union[Distribution, _Mapping]]] = ..., packages: _Optional[_Iterable[_Union[Package, _Mapping]]] = ..., red_hat_image: _Optional[bool] = ..., errors: _Optional[_Iterable[str]] = ...) -> None: ...
