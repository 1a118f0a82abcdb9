import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from stockade.scanner.v1 import indexer_pb2 as _indexer_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_STATUS_UNSPECIFIED: _ClassVar[ReportStatus]
    REPORT_STATUS_OK: _ClassVar[ReportStatus]
    REPORT_STATUS_NO_VULNERABILITY_DATA: _ClassVar[ReportStatus]

class OsStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OS_STATUS_UNSPECIFIED: _ClassVar[OsStatus]
    OS_STATUS_OK: _ClassVar[OsStatus]
    OS_STATUS_NO_DISTRIBUTION: _ClassVar[OsStatus]
    OS_STATUS_UNSUPPORTED_DISTRIBUTION: _ClassVar[OsStatus]
    OS_STATUS_NO_DATA_FOR_RELEASE: _ClassVar[OsStatus]

class FixState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIX_STATE_UNSPECIFIED: _ClassVar[FixState]
    FIX_STATE_FIXED: _ClassVar[FixState]
    FIX_STATE_NOT_FIXED: _ClassVar[FixState]
    FIX_STATE_WONT_FIX: _ClassVar[FixState]

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_UNKNOWN: _ClassVar[Severity]
    SEVERITY_LOW: _ClassVar[Severity]
    SEVERITY_MODERATE: _ClassVar[Severity]
    SEVERITY_IMPORTANT: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]
REPORT_STATUS_UNSPECIFIED: ReportStatus
REPORT_STATUS_OK: ReportStatus
REPORT_STATUS_NO_VULNERABILITY_DATA: ReportStatus
OS_STATUS_UNSPECIFIED: OsStatus
OS_STATUS_OK: OsStatus
OS_STATUS_NO_DISTRIBUTION: OsStatus
OS_STATUS_UNSUPPORTED_DISTRIBUTION: OsStatus
OS_STATUS_NO_DATA_FOR_RELEASE: OsStatus
FIX_STATE_UNSPECIFIED: FixState
FIX_STATE_FIXED: FixState
FIX_STATE_NOT_FIXED: FixState
FIX_STATE_WONT_FIX: FixState
SEVERITY_UNSPECIFIED: Severity
SEVERITY_UNKNOWN: Severity
SEVERITY_LOW: Severity
SEVERITY_MODERATE: Severity
SEVERITY_IMPORTANT: Severity
SEVERITY_CRITICAL: Severity

class GetVulnerabilitiesRequest(_message.Message):
    __slots__ = ("manifest_digest", "contents")
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    manifest_digest: str
    contents: _indexer_pb2.IndexReport
    def __init__(self, manifest_digest: _Optional[str] = ..., contents: _Optional[_Union[_indexer_pb2.IndexReport, _Mapping]] = ...) -> None: ...

class Cvss(_message.Message):
    __slots__ = ("version", "vector", "score", "source")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    version: str
    vector: str
    score: float
    source: str
    def __init__(self, version: _Optional[str] = ..., vector: _Optional[str] = ..., score: _Optional[float] = ..., source: _Optional[str] = ...) -> None: ...

class KnownExploited(_message.Message):
    __slots__ = ("date_added", "due_date", "ransomware", "required_action")
    DATE_ADDED_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    RANSOMWARE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ACTION_FIELD_NUMBER: _ClassVar[int]
    date_added: str
    due_date: str
    ransomware: str
    required_action: str
    def __init__(self, date_added: _Optional[str] = ..., due_date: _Optional[str] = ..., ransomware: _Optional[str] = ..., required_action: _Optional[str] = ...) -> None: ...

class Epss(_message.Message):
    __slots__ = ("score", "percentile", "date")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PERCENTILE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    score: float
    percentile: float
    date: str
    def __init__(self, score: _Optional[float] = ..., percentile: _Optional[float] = ..., date: _Optional[str] = ...) -> None: ...

class Advisory(_message.Message):
    __slots__ = ("id", "aliases", "fixed_version", "state", "severity", "vendor_severity", "cvss", "summary", "description", "links", "sources", "published", "known_exploited", "epss")
    ID_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    FIXED_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    VENDOR_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CVSS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    KNOWN_EXPLOITED_FIELD_NUMBER: _ClassVar[int]
    EPSS_FIELD_NUMBER: _ClassVar[int]
    id: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    fixed_version: str
    state: FixState
    severity: Severity
    vendor_severity: str
    cvss: _containers.RepeatedCompositeFieldContainer[Cvss]
    summary: str
    description: str
    links: _containers.RepeatedScalarFieldContainer[str]
    sources: _containers.RepeatedScalarFieldContainer[str]
    published: str
    known_exploited: KnownExploited
    epss: Epss
    def __init__(self, id: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., fixed_version: _Optional[str] = ..., state: _Optional[_Union[FixState, str]] = ..., severity: _Optional[_Union[Severity, str]] = ..., vendor_severity: _Optional[str] = ..., cvss: _Optional[_Iterable[_Union[Cvss, _Mapping]]] = ..., summary: _Optional[str] = ..., description: _Optional[str] = ..., links: _Optional[_Iterable[str]] = ..., sources: _Optional[_Iterable[str]] = ..., published: _Optional[str] = ..., known_exploited: _Optional[_Union[KnownExploited, _Mapping]] = ..., epss: _Optional[_Union[Epss, _Mapping]] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("package", "version", "ecosystem", "advisory")
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ECOSYSTEM_FIELD_NUMBER: _ClassVar[int]
    ADVISORY_FIELD_NUMBER: _ClassVar[int]
    package: str
    version: str
    ecosystem: str
    advisory: Advisory
    def __init__(self, package: _Optional[str] = ..., version: _Optional[str] = ..., ecosystem: _Optional[str] = ..., advisory: _Optional[_Union[Advisory, _Mapping]] = ...) -> None: ...

class VulnerabilityReport(_message.Message):
    __slots__ = ("manifest_digest", "status", "os_status", "distribution", "release", "findings", "notes")
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OS_STATUS_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    manifest_digest: str
    status: ReportStatus
    os_status: OsStatus
    distribution: str
    release: str
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, manifest_digest: _Optional[str] = ..., status: _Optional[_Union[ReportStatus, str]] = ..., os_status: _Optional[_Union[OsStatus, str]] = ..., distribution: _Optional[str] = ..., release: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class GetMetadataRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SourceState(_message.Message):
    __slots__ = ("name", "fingerprint", "updated_at", "record_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    fingerprint: str
    updated_at: _timestamp_pb2.Timestamp
    record_count: int
    def __init__(self, name: _Optional[str] = ..., fingerprint: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., record_count: _Optional[int] = ...) -> None: ...

class Metadata(_message.Message):
    __slots__ = ("has_vulnerability_data", "status_message", "record_count", "sources", "last_update", "update_errors")
    HAS_VULNERABILITY_DATA_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    has_vulnerability_data: bool
    status_message: str
    record_count: int
    sources: _containers.RepeatedCompositeFieldContainer[SourceState]
    last_update: _timestamp_pb2.Timestamp
    update_errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, has_vulnerability_data: _Optional[bool] = ..., status_message: _Optional[str] = ..., record_count: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[SourceState, _Mapping]]] = ..., last_update: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_errors: _Optional[_Iterable[str]] = ...) -> None: ...
