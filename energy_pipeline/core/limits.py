"""Plausibility limits shared by the data-quality gates (pandera) and the HTTP contract (pydantic).

One module without dependencies, so the serving image needs neither pandera nor the training stack.
"""

# Seattle's city limits with a margin of about 2 km: benchmarked campuses sit right on the boundary.
LATITUDE_RANGE = (47.45, 47.78)
LONGITUDE_RANGE = (-122.48, -122.20)
YEAR_BUILT_MIN = 1850
MAX_FLOOR_AREA_SQFT = 5.0e7  # larger than any building on Earth: beyond it a value is a unit or typing error
MAX_FLOORS = 200
GFA_PARTS_TOLERANCE = 0.01  # parking + buildings may exceed the total by rounding only
