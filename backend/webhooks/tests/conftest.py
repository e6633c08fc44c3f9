"""The webhooks tests' fixture: a receiver on 127.0.0.1 (`helpers.Receiver`), closed after use."""

from collections.abc import Iterator

import pytest

from .helpers import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()
