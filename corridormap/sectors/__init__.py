"""Sector fit and site briefs: which node suits which industry, and one printable page per node.

- :mod:`.profiles`: sector profiles as data (``layers/rules/sectors/*.toml``), checked on load;
- :mod:`.criteria`: each criterion's raw value at each node (true km, sums within reach, rasters);
- :mod:`.fit`: node x sector fit with each criterion's contribution and ±20 % weight sensitivity;
- :mod:`.facts`: the facts about a node that briefs and comparisons show;
- :mod:`.brief`, :mod:`.pdf`, :mod:`.inset`, :mod:`.i18n`: the one-page brief (HTML, PDF; en, ja);
- :mod:`.compare`: nodes side by side, best value per row marked.
"""

from __future__ import annotations

from .criteria import criterion_values
from .fit import fit_sensitivity, sector_fit
from .profiles import Profile, load_profile, load_profiles

__all__ = ["Profile", "load_profile", "load_profiles", "criterion_values", "sector_fit", "fit_sensitivity"]
