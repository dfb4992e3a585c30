"""One error type for bad user input, so every entry point can report it the same way."""


class SpecError(ValueError):
    """A sweep spec (or CLI input) is wrong; the message names the key path and the fix.

    Entry points print ``error: <path>: <message>`` on one line and exit with
    code 2; nothing is written before validation succeeds.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)
