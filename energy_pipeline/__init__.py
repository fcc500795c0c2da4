"""energy-pipeline: yearly site energy use and GHG emissions of Seattle's non-residential buildings.

`defs` is resolved lazily (PEP 562) so that importing the domain code (in joblib workers or the BentoML service)
does not build the Dagster definitions; `dagster dev -m energy_pipeline` still finds it through dir()/getattr.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "defs":
        from energy_pipeline.definitions import defs

        return defs
    raise AttributeError(f"module 'energy_pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    return ["defs"]
