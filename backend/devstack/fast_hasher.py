"""The password hasher of the fast test loop (`pytest --fast-hasher`, which `make test-fast`
passes): Django's PBKDF2-SHA256 at a single iteration. Never for real accounts.

Most unit tests sign a user in, and the full iteration count of Django's hasher makes that the
better part of each one's run time. The hashes keep Django's format, which names the iterations
they were made with, so any Django process (a web server that a test starts, say) still verifies
them with its own PBKDF2 hasher.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
