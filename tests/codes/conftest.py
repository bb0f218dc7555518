import pytest

from siyu.codes.landing import forget_cached


@pytest.fixture(autouse=True)
def _fresh_landing_cache():
    forget_cached()
    yield
    forget_cached()


from tests.wecom.conftest import fake_wecom  # noqa: E402, F401 - the fake WeCom server, for the code pages
