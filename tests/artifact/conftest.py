"""The API function's host build, made once per session the way `sam build --use-container` makes it.

SAM's makefile builder runs `make --makefile <repo>/Makefile build-<LogicalId>` from a scratch copy
of the function's code, with ARTIFACTS_DIR set; with `--use-container`, in SAM's python3.13 build
image: python3.13, pip and make on PATH, the repository mounted read-only, no `.venv`, HOME possibly
unwritable. No container runs here, so this reproduces that: a copy of what a fresh clone holds,
PATH reduced to a bare CPython 3.13's bin plus /usr/bin:/bin, the copy and an empty HOME
bind-mounted read-only in a private user and mount namespace (`unshare`; read-only mounts bind
root too, unlike file modes). Like SAM's build, it installs the locked wheels with pip, from the
package index (or the wheel cache pip is configured with): it needs PyPI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local_api.template import functions, load_template
from tests.conftest import REPO_ROOT

# The interpreter behind the dev virtual environment: a bare CPython 3.13 (pip, nothing else).
BARE_PYTHON_BIN = Path(sys.base_prefix) / "bin"


def clean_copy(destination: Path) -> Path:
    """The files a fresh clone holds once the work tree is committed: tracked or not ignored, nothing built."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (REPO_ROOT / name).is_file():  # a deletion not yet staged is listed, and gone
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, destination / name)
    return destination


@pytest.fixture(scope="session")
def host_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The API function, built for this machine's architecture by `make build-HealthFunction` as SAM's
    container build runs it: from a scratch copy of its CodeUri, in a container-like environment."""
    root = tmp_path_factory.mktemp("container-like-build")
    repo, home, artifact = clean_copy(root / "repo"), root / "home", root / "HealthFunction"
    home.mkdir()
    scratch = shutil.copytree(
        functions(load_template(repo / "template.yaml"), repo)["HealthFunction"].code_dir, root / "scratch"
    )
    make = f"make --makefile {repo}/Makefile build-HealthFunction BUILD_ARCH=host"
    script = f"mount --bind -o ro {repo} {repo} && mount --bind -o ro {home} {home} && exec {make}"
    result = subprocess.run(
        ["/usr/bin/unshare", "--map-root-user", "--mount", "/bin/sh", "-c", script],  # a user namespace: no root needed
        cwd=scratch,
        env={"PATH": f"{BARE_PYTHON_BIN}:/usr/bin:/bin", "HOME": str(home), "ARTIFACTS_DIR": str(artifact)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return artifact
