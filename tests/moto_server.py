"""moto's server, as `moto_server` runs it, with two per-request costs
taken out.

For every request, moto's dispatcher asks whether the request's service
name is one of its modules, and answers by listing moto's package
directory and calling `isdir` on each of its hundreds of entries; then
the service's response class lists its own methods with `inspect`. Under
the tests' load the two were about 40% of moto's CPU, and moto about half
of the machine's. Neither answer changes while the server runs, so each
is computed once here; everything else is moto's own code.

    python3 tests/moto_server.py -H 127.0.0.1 -p PORT
"""

import functools

import moto.backends
import moto.core.responses
from moto.server import main

if hasattr(moto.backends, "list_of_moto_modules"):
    MODULES = frozenset(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: MODULES

if hasattr(moto.core.responses, "method_names_from_class"):
    moto.core.responses.method_names_from_class = functools.cache(
        moto.core.responses.method_names_from_class
    )

if __name__ == "__main__":
    main()
