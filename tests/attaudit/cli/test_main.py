import subprocess
import sys

from attaudit.cli.main import main


def test_help_lists_and_exits_cleanly(capsys):
    assert main([]) == 2
    assert "usage: attaudit" in capsys.readouterr().out


def test_version_subprocess():
    out = subprocess.run(
        [sys.executable, "-m", "attaudit", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("attaudit ")
