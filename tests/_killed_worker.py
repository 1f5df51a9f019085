"""claimbench.predict.worker whose rank 1 kills itself (SIGKILL: nothing is cleaned up) right after its first batch
is on disk; run by tests/test_multiprocess.py under `accelerate launch` in place of the worker module."""

import os
import signal
import sys

from claimbench.predict import store, worker

if os.environ.get("RANK") == "1":
    append = store.PredictionStore.append

    def append_then_die(self, records):
        append(self, records)
        os.kill(os.getpid(), signal.SIGKILL)

    store.PredictionStore.append = append_then_die

if __name__ == "__main__":
    sys.exit(worker.main())
