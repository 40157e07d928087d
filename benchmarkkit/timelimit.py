"""A time limit on a call into plugin code, so one hanging plugin cannot hang the whole command.

``with time_limit(seconds, plugin, doing): ...`` arms a one-off ``SIGALRM`` timer
(``signal.setitimer(ITIMER_REAL, …)``); when it fires, a handler raises a private exception deep
inside the plugin's code, and the block ends in ``PluginError(plugin, "took longer than N s
(doing)")`` — one line, naming the plugin, with the hint to raise ``--plugin-timeout`` or skip it.

What it can and cannot do (the README and SECURITY.md say the same):

* The exception derives from ``BaseException``, so a plugin's ``except Exception`` cannot swallow
  it; if a plugin catches ``BaseException`` anyway, the alarm fires again every second until the
  block ends. A plugin is trusted code: this protects against hangs and runaway loops, not against
  malice (a plugin can reset the timer, block the signal or fork).
* A pure-Python loop and ``time.sleep`` are interrupted on time. A long single call into C (one
  Polars operation, a blocking socket read in a C library) is interrupted only when it returns to
  Python, because Python runs signal handlers between bytecodes.
* It is a no-op when ``seconds`` is 0 or None, off the main thread (only the main thread receives
  signals) and where ``SIGALRM`` does not exist (Windows): there, plugins run without a limit.
* Nested limits: the outermost active one wins. If a real-time interval timer is already running
  (an enclosing ``time_limit``, or the host application's own), an inner ``time_limit`` does
  nothing rather than reset it. On exit the timer is always cancelled and the previous ``SIGALRM``
  handler restored.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

from benchmarkkit.errors import PluginError

RETRY = 1.0
"""Seconds between repeated alarms once the limit has passed (if the plugin swallowed the first)."""


class _Expired(BaseException):
    """Raised inside plugin code when its time is up. Private: the block turns it into a
    PluginError, and a BaseException so that ``except Exception`` in a plugin cannot catch it."""


def supported() -> bool:
    """Can a limit be enforced here: a platform with SIGALRM, and the main thread?"""
    return (
        hasattr(signal, "SIGALRM")
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )


class _TimeLimit:
    def __init__(self, seconds: float | None, plugin: str, doing: str) -> None:
        self.seconds, self.plugin, self.doing = seconds, plugin, doing
        self._armed = False  # this block owns the timer and the handler
        self._active = False  # the handler may raise

    def __enter__(self) -> _TimeLimit:
        if not self.seconds or self.seconds <= 0 or not supported():
            return self
        if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return self  # an outer limit is running: it wins, and is left untouched
        self._previous = signal.signal(signal.SIGALRM, self._expire)
        self._armed = self._active = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds, RETRY)
        return self

    def _expire(self, signum: int, frame: FrameType | None) -> None:
        if self._active:
            raise _Expired

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._armed:
            return
        try:
            self._active = False
        except _Expired as late:  # fired between the end of the block and this line
            self._active = False
            exc = late
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            previous = self._previous
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
            self._armed = False
        if isinstance(exc, _Expired):
            raise PluginError(
                self.plugin,
                f"took longer than {self.seconds:g} s ({self.doing})",
                hint=f"raise --plugin-timeout, or skip it with --disable-plugin {self.plugin}",
            ) from exc


def time_limit(seconds: float | None, plugin: str, doing: str) -> _TimeLimit:
    """Bound the ``with`` block to ``seconds``; past it, raise ``PluginError`` naming ``plugin``.

    ``doing`` says what the plugin was asked to do, for the message (``"building scorer 'x'"``).
    See the module docstring for when the limit cannot be enforced.
    """
    return _TimeLimit(seconds, plugin, doing)
