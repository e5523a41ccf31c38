"""The HTTP service (aiohttp): routes, the one error mapper, auth, limits, reload, metrics.

``app.create_app(settings)`` builds the application; ``main.serve`` runs it.
"""
