"""Two error types, so every entry point reports them the same way (one line, exit 2).

``SpecError`` is bad input: a spec key, a CLI argument. ``RunError`` is a state
found on disk that stops the run (a truncated metrics file, results trained by
other code, a trial that resumes from one not yet finished): not a spec fault,
but equally one line with the path and the fix.
"""


class SpecError(ValueError):
    """A sweep spec (or CLI input) is wrong; the message names the key path and the fix.

    Entry points print ``error: <path>: <message>`` on one line and exit with
    code 2; nothing is written before validation succeeds.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class RunError(SpecError):
    """A sweep's files are in a state that stops the run; the message names the file and fix.

    (A subclass so that code catching bad input also stops on it; raise it for
    what is on disk, SpecError for what the user wrote.)
    """


def combined(errors: list[SpecError]) -> SpecError:
    """One error reporting every one of ``errors``, a line each (as a compiler does).

    Entry points print ``error: <exc>``; the lines after the first carry their own
    ``error:`` prefix. The first error's type is kept (a RunError stays one).
    """
    first = errors[0]
    if len(errors) == 1:
        return first
    rest = "".join(f"\nerror: {e}" for e in errors[1:])
    out = type(first)(first.path, first.message + rest)
    out.errors = list(errors)
    return out
