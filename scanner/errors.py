"""One error hierarchy: library code raises these, the CLI turns them into messages."""


class DscanError(Exception):
    """Root of every error dscan raises on purpose; the CLI prints it as one line, exit 2."""

    exit_code = 2


class UsageError(DscanError, ValueError):
    """An option or argument that cannot be used as given."""


class InputNotFoundError(DscanError, FileNotFoundError):
    """The path to scan does not exist."""


class WrongKindError(DscanError, ValueError):
    """The path exists but is not the kind of store the command expects."""


class StoreError(DscanError, OSError):
    """The store cannot be opened or read as a whole (not a single bad record)."""


class MissingDependencyError(DscanError, ImportError):
    """An optional library needed for this backend is not installed."""


class WireFormatError(DscanError, ValueError):
    """Bytes that are not a valid protocol buffer message."""


class DatumDecodeError(WireFormatError):
    """Bytes that are not a valid Caffe Datum; the scanner turns it into finding DS002."""


class StoreReadError(DscanError, OSError):
    """A store error while iterating, after `last_key`; becomes finding DS001."""

    def __init__(self, message: str, last_key: bytes | None):
        super().__init__(message)
        self.last_key = last_key


class StoreChangedError(StoreReadError):
    """A read failed while a writer was changing the store: re-read, it is not corruption."""


class WorkersKeptDyingError(DscanError):
    """A shard killed worker after worker, never at the same record twice."""


class PrototxtError(DscanError, ValueError):
    """A prototxt file that cannot be read or parsed; the message names file:line:column."""


class ConfigError(DscanError, ValueError):
    """A net, solver or mean file that dscan cannot make sense of as a whole."""
