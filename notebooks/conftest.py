"""nbval re-executes the notebooks in the smoke profile, also those whose default is a longer run
(the quickstart, your own data): their kernels inherit this environment (dc_lib.core.config.notebook_profile)."""

import os

os.environ["DC_PROFILE"] = "smoke"
os.environ["DC_DOWNLOAD"] = "0"  # the tests never download
