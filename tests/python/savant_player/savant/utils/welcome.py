"""Stand-in for savant.utils.welcome."""


def get_starting_message(what):
    return "starting " + what
