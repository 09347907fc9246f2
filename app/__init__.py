"""The Streamlit page's own modules; ``streamlit_app.py`` is the entry point that declares the pages.

- ``limits``: what a shared server allows one visitor (sizes, steps, queue), from the environment.
- ``runtime``: what every session of the server shares (device, model, gate, log), created once.
- ``session``: one visitor's state: the gallery of paintings, the hand-off of an interrupted run.
- ``inputs``: the photo and painting pickers (examples, uploads, camera).
- ``form``: the parameters, derived from ``TransferConfig``'s fields; "use these settings again".
- ``run``: a run with live progress, queue position and Stop.
- ``results``: the painting, its downloads and the session's gallery.
- ``comparison``: the presenters' comparison of settings.
- ``pages/``: one script per page of the navigation, composing the modules above.

No maths here: inputs -> TransferConfig -> nst_core -> present.
"""
