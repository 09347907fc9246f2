"""The Streamlit page's own modules; ``streamlit_app.py`` is the entry point that declares the pages.

- ``runtime``: what every session of the server shares (device, model, the job service, log), created once.
- ``session``: one visitor's state: the gallery of paintings and what a page keeps.
- ``jobs``: the pages' side of the job service: submit, watch with live progress, stop, collect.
- ``inputs``: the photo and painting pickers (examples, uploads, camera).
- ``form``: the parameters, derived from ``TransferConfig``'s fields; "use these settings again".
- ``run``: a picture's run: its job, its live view, its result kept in the gallery.
- ``results``: the painting, its downloads and the session's gallery.
- ``comparison``: the presenters' comparison of settings.
- ``video``: the clip picker, its controls, the clip's run and result.
- ``scroll``: the one constant script, which brings the forming picture and the result into view.
- ``pages/``: one script per page of the navigation, composing the modules above.

No maths here: inputs -> TransferConfig -> a job of the job service -> present. The serving policy (limits,
capacity, fair turns, waits) is the job service's (``job_service/``).
"""

import job_service  # noqa: F401 - sets the threads' waiting policy before anything imports torch
