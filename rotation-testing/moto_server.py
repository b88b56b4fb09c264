"""moto's Secrets Manager, IAM, STS and RDS for the tests: moto's own
application, with two per-request costs taken out, served by waitress.

    python3 rotation-testing/moto_server.py -H 127.0.0.1 -p PORT

Under the tests' load moto used about half of the machine's CPU, and a
third of that was overhead this file removes:

- For every request, moto's dispatcher asks whether the request's service
  name is one of its modules, and answers by listing moto's package
  directory and calling `isdir` on each of its hundreds of entries; then
  the service's response class lists its own methods with `inspect`.
  Neither answer changes while the server runs, so each is computed once.
- `moto_server` serves with Werkzeug's development server, which closes
  the connection after every answer: one TCP connection and one thread per
  request on moto's side, one connection set-up per call on the SDK's.
  waitress keeps connections open, as Secrets Manager's endpoints do.
  Without waitress (an older `.venv`), moto's own server runs instead:
  slower, never different in what it answers.
"""

import argparse
import functools
import os

import moto.backends
import moto.core.responses

if hasattr(moto.backends, "list_of_moto_modules"):
    MODULES = frozenset(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: MODULES

if hasattr(moto.core.responses, "method_names_from_class"):
    moto.core.responses.method_names_from_class = functools.cache(
        moto.core.responses.method_names_from_class
    )


def serve():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import waitress
    except ImportError:
        from moto.server import main

        main(["-H", args.host, "-p", str(args.port)])
        return
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # moto builds some answers' URLs from this, as moto_server does.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    # A test binary opens many SDK clients, each with its own idle
    # connections; poll() has no limit on descriptors, select() does.
    waitress.serve(
        app,
        host=args.host,
        port=args.port,
        threads=8,
        connection_limit=1000,
        asyncore_use_poll=True,
    )


if __name__ == "__main__":
    serve()
