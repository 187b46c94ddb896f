"""station/service.py: what every service does first (config, logging, signals)."""
import signal

from station.service import stop_on_signals


def test_a_stop_signal_arriving_inside_stop_wait_does_not_deadlock():
    """A signal handler runs in the main thread between two bytecodes; if that is inside
    stop.wait() (which holds the event's lock on its way in and out), a handler calling
    stop.set() there would wait for a lock its own thread holds. cx-vision hung so in about 1
    of 30 stops. The test holds the event's lock the way wait() does, then runs the handler."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop = stop_on_signals()
        handler = signal.getsignal(signal.SIGTERM)
        with stop._cond:                       # what Event.wait holds around its wait
            handler(signal.SIGTERM, None)      # returns: the set happens on another thread
        assert stop.wait(2)
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
