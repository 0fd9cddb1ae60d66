"""Exit codes of the ``iog`` command and the error that carries one to ``main()``."""

from __future__ import annotations

from ..client import IogClientError
from ..core.errors import IogError, RayUnavailableError, ValidationError

#: Success.
EXIT_OK = 0
#: Something failed that has no more specific code.
EXIT_ERROR = 1
#: Bad usage: an unknown option, a malformed URL or argument.
EXIT_USAGE = 2
#: Ray, or the Jupyter server in remote mode, could not be reached.
EXIT_UNAVAILABLE = 3
#: The Jupyter server refused the credentials (401/403).
EXIT_AUTH = 4


class CliError(Exception):
    """An error ``main()`` reports as one line on stderr, exiting with ``exit_code``.

    Attributes:
        message: What went wrong and what to do, never a token.
        exit_code: The process exit status.
    """

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


#: The exit code for each :attr:`iog_jupyter.client.IogClientError.kind`.
EXIT_FOR_CLIENT_ERROR = {
    "usage": EXIT_USAGE,
    "auth": EXIT_AUTH,
    "unavailable": EXIT_UNAVAILABLE,
    "error": EXIT_ERROR,
}


def exit_code_of(err: CliError | IogClientError | IogError) -> int:
    """The exit status for a CLI error, a failed request to the server, or a core error."""
    if isinstance(err, IogClientError):
        return EXIT_FOR_CLIENT_ERROR[err.kind]
    if isinstance(err, ValidationError):
        return EXIT_USAGE
    if isinstance(err, RayUnavailableError):
        return EXIT_UNAVAILABLE
    return err.exit_code if isinstance(err, CliError) else EXIT_ERROR
