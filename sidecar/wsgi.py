"""The WSGI entry point: ``gunicorn -c sidecar/gunicorn_conf.py sidecar.wsgi:app``."""

from sidecar import create_app

app = create_app()
