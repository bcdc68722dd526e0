"""Stand-in for savant.utils.logging: the standard logging module, to stderr."""
import logging


def get_logger(name):
    return logging.getLogger(name)


def init_logging():
    logging.basicConfig(level=logging.INFO)
