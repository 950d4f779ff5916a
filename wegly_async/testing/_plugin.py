"""Keep the pytest plugin's old entry point working for installs made before it moved.

The ``pytest11`` entry point now names the top-level ``_wegly_async_pytestplugin``, which
loads nothing heavy; an environment whose metadata still names this module (an editable
install not reinstalled since) gets the same fixtures, at the old start-up cost.
"""

pytest_plugins = ["_wegly_async_pytestplugin"]
