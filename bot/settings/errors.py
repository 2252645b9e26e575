"""The errors an operator fixes before the assistant can run, in one hierarchy.

    ConfigError                    caught once by the CLI, printed as a sentence
    ├── SettingError (ValueError)  an environment variable with a bad value
    │   └── CredentialsError       a channel only partly configured
    └── StartupError (RuntimeError) a port in use, a server that died or stalled, training failed
"""

from __future__ import annotations


class ConfigError(Exception):
    """Something the operator must fix; the message says what."""


class SettingError(ConfigError, ValueError):
    """A setting from the environment has a value the assistant cannot use."""


class CredentialsError(SettingError):
    """A channel is only partly configured."""


class StartupError(ConfigError, RuntimeError):
    """A process of the assistant could not be started or trained."""
