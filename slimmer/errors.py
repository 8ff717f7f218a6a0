"""Errors a user can act on. The CLI prints each as one line and exits with its code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_VERIFY_FAILED = 3
EXIT_GATE_FAILED = 4  # `slimmer xray --ci`: a gate rule failed


class SlimmerError(Exception):
    """An error with a message that says what went wrong and what to do."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message.replace("\n", " ").strip()
        return f"{text}: {self.hint}" if self.hint else text


class UsageError(SlimmerError):
    exit_code = EXIT_USAGE


class EngineUnavailable(SlimmerError):
    """No container engine answers at the configured endpoint."""


class ImageNotFound(SlimmerError):
    pass


class ImageFormatError(SlimmerError):
    """An image archive or layer is corrupt, hostile or in a format we do not read."""


class SensorError(SlimmerError):
    """The sensor is missing, failed, or its report cannot be read."""


class CleanupFailed(SlimmerError):
    """Something slimmer created in the engine could not be removed."""


class TargetFailed(SlimmerError):
    """The target container died before the observation was complete."""


class VerificationFailed(SlimmerError):
    exit_code = EXIT_VERIFY_FAILED
