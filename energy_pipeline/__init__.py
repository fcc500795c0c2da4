"""energy-pipeline: yearly site energy use and GHG emissions of Seattle's non-residential buildings."""

from energy_pipeline.definitions import defs

__all__ = ["defs"]
