"""The Streamlit page's own modules; ``streamlit_app.py`` is the entry point that declares the pages.

- ``limits``: what a shared server allows one visitor (sizes, steps, queue), from the environment.
- ``capacity``: the largest picture offered, from this device's measured pace and free memory.
- ``runtime``: what every session of the server shares (device, model, gate, log), created once.
- ``session``: one visitor's state: the gallery of paintings, the hand-off of an interrupted run.
- ``inputs``: the photo and painting pickers (examples, uploads, camera).
- ``form``: the parameters, derived from ``TransferConfig``'s fields; "use these settings again".
- ``run``: a run with live progress, queue position and Stop.
- ``results``: the painting, its downloads and the session's gallery.
- ``comparison``: the presenters' comparison of settings.
- ``video``: the clip picker, its controls, the clip's run and result.
- ``scroll``: the one constant script, which brings the forming picture and the result into view.
- ``pages/``: one script per page of the navigation, composing the modules above.

No maths here: inputs -> TransferConfig -> nst_core -> present.
"""
