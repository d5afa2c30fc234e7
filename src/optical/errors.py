"""Errors that name the file (or config key) at fault and say how to fix it."""


class OpticalError(Exception):
    """Base class for errors the pipeline raises on purpose."""


class InputError(OpticalError):
    """A file a step reads is missing, empty, corrupt or inconsistent."""

    def __init__(self, path, problem: str, fix: str = ""):
        self.path = str(path)
        msg = f"{self.path}: {problem}"
        if fix:
            msg += f" -- fix: {fix}"
        super().__init__(msg)


class ConfigError(OpticalError):
    """A config value is invalid; the message names the key."""

    def __init__(self, key: str, problem: str, allowed: str = ""):
        self.key = key
        msg = f"config key '{key}': {problem}"
        if allowed:
            msg += f" (allowed: {allowed})"
        super().__init__(msg)
