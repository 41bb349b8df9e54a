"""Errors a user can cause. Each message names what is wrong and what is allowed."""


class NetstepError(ValueError):
    """Base class for user-facing errors (bad config, bad file, bad data)."""


class ConfigError(NetstepError):
    """An invalid RunConfig field: the message names the field and the allowed values."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class DataError(NetstepError):
    """A dataset could not be loaded (unreadable, ragged, non-numeric, empty...)."""


class FileFormatError(NetstepError):
    """A saved-run file is corrupt, truncated or does not match."""
