"""Quest Studio: see a level as a map, play it in a browser, see where players stop.

- ``quest-runtime studio`` (``app.py``): a local web app on 127.0.0.1 with the level map
  (``levelmap.py``, kept current by ``workspace.py``) and the simulator
  (``simulator.py``), which shows each result as the plugin does (``plugin_view.py``);
- ``quest-runtime serve`` mounts the read-only funnel at ``/studio`` behind the admin
  token (``funnel_app.py``), fed by an aggregate of the journal (``funnel.py``).

The page is plain JavaScript under ``static/`` with vendored, minified libraries
(cytoscape.js, dagre, cytoscape-dagre; see docs/decisions.md): no Node.js at run time.
"""
