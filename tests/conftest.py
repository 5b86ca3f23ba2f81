"""Session-wide test set-up."""

import signal

# A shell without job control starts background commands (`make test &`, nohup) with SIGINT ignored, and Python then
# never installs its KeyboardInterrupt handler; an ignored signal also stays ignored in every child process. The
# Ctrl-C tests send real SIGINTs to this process and to sweep workers, so restore the default here: children exec'd
# from a process with a handler start with SIGINT at its default, and Python installs its handler in them again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
