"""Settings of the HTTP API benchmark (bench/api.py): the project's, with the two baseline endpoints
of bench/api_urls.py mounted beside the project's URLs."""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
