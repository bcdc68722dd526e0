"""Stand-in for savant.utils.config: the environment options the player reads."""
import os


def req_config(key):
    return os.environ[key]


def opt_config(key, default=None, convert=None):
    value = os.environ.get(key)
    if value is None:
        return default
    return convert(value) if convert else value


def strtobool(value):
    return value.lower() in ("1", "true", "yes", "on")
