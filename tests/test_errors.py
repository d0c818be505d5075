"""French reasons for OS errors, as they appear in the messages users read."""

import errno
import os

import pytest

from geo.errors import os_reason_fr


@pytest.mark.parametrize(
    ("code", "french"),
    [
        (errno.EROFS, "disque en lecture seule"),
        (errno.ENOTDIR, "un élément du chemin n'est pas un dossier"),
        (errno.EACCES, "accès refusé"),
        (errno.EPERM, "accès refusé"),
        (errno.ENOSPC, "disque plein"),
        (errno.ENOENT, "fichier ou dossier introuvable"),
    ],
)
def test_os_errors_users_can_fix_are_said_in_french(code, french):
    exc = OSError(code, os.strerror(code), "/srv/carte-qpv/processed")

    assert os_reason_fr(exc) == french


def test_a_real_not_a_directory_error_is_said_in_french(tmp_path):
    blocker = tmp_path / "un-fichier"
    blocker.write_text("")
    with pytest.raises(OSError) as error:
        (blocker / "dossier").mkdir()

    assert os_reason_fr(error.value) == "un élément du chemin n'est pas un dossier"


def test_an_unlisted_os_error_still_names_its_errno_in_french():
    exc = OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    assert os_reason_fr(exc) == "erreur système EXDEV"
    assert os_reason_fr(OSError("sans errno")) == "erreur d'entrée-sortie (OSError)"
