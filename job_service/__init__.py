"""The job service: the one place where paintings are queued, planned, given fair turns and cancelled.

Every piece of work of the page (an instant picture, a refined picture, a clip, a comparison) is a job
submitted to a :class:`~job_service.scheduler.Scheduler`; the pages submit, watch and cancel, the scheduler
runs the work of ``nst_core`` on its own threads. Embedded in the server's process by default; on a Ray
cluster when one machine is not enough. Importing it imports neither Streamlit nor torch.

Threads waiting for work sleep rather than spin (``OMP_WAIT_POLICY=PASSIVE``, set here unless the
environment sets it, before anything imports torch): a spinning thread takes the core that the server,
another visitor's instant picture or a clip's encoding needed (``bench/threads.py`` measures it).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
