"""Errors raised by briefing on purpose; the CLI and the web app translate them at the edge.

BriefingError
├── ConfigError (+ValueError)          bad settings, sources.yaml or taxonomy: exit 2
│   └── SourcesError                   sources.yaml problems, each with its line and field
├── UsageError (+ValueError)           bad input to a command: exit 2
├── SourceError(source)                one feed or page could not be fetched or parsed
│   ├── FetchError
│   └── FeedParseError
├── ComposeError                       the email could not be rendered
├── DeliveryError                      the email could not be written or sent
└── NotFoundError(kind, key) (+LookupError)

Anything else is a bug in briefing and propagates with its traceback.
"""

from __future__ import annotations


class BriefingError(Exception):
    """Base class; `exit_code` is what the command line exits with."""

    exit_code = 1
    default_message = "briefing failed"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0])

    def __str__(self) -> str:
        cause = self.__cause__
        return f"{self.message}: {cause}" if cause else self.message


class ConfigError(BriefingError, ValueError):
    exit_code = 2
    default_message = "invalid configuration"


class SourcesError(ConfigError):
    """sources.yaml failed validation; `problems` holds one line per problem."""

    default_message = "invalid sources file"

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.problems))


class UsageError(BriefingError, ValueError):
    exit_code = 2
    default_message = "bad usage"


class SourceError(BriefingError):
    default_message = "source failed"

    def __init__(self, source: str, message: str = "") -> None:
        super().__init__(message)
        self.source = source

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.source, self.message))

    def __str__(self) -> str:
        return f"{self.source}: {super().__str__()}"


class FetchError(SourceError):
    default_message = "could not fetch"


class FeedParseError(SourceError):
    default_message = "could not parse feed"


class ComposeError(BriefingError):
    default_message = "could not compose the edition"


class DeliveryError(BriefingError):
    default_message = "could not deliver the edition"


class NotFoundError(BriefingError, LookupError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no such {kind}: {key}")
        self.kind = kind
        self.key = key

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.key))
