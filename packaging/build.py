"""One build script for every platform: frozen one-folder program, then the installer inputs.

    python packaging/build.py            # build/dist/Integrationsplaner/ (+ Windows installer)
    python packaging/build.py --no-installer

On Windows it writes the version resource and, if Inno Setup's ``iscc`` is on PATH, compiles
``packaging/windows/integrationsplaner.iss`` into ``build/installer/``. On Linux it prepares
``build/linux/`` (the folder, the .desktop file, MIME type and icons, and ``install.sh``).
It prints the sizes the packaging issue asks for.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
DIST = BUILD / "dist" / "Integrationsplaner"


def version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "src" / "integrationsplaner" / "__init__.py").read_text("utf-8"), namespace)
    return namespace["__version__"]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def write_version_file(ver: str) -> Path:
    parts = [*ver.split("."), "0", "0", "0"][:4]
    numbers = ", ".join(str(int(p)) for p in parts)
    target = BUILD / "version_info.txt"
    target.write_text(f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers=({numbers}), prodvers=({numbers})),
  kids=[StringFileInfo([StringTable('040704b0', [
    StringStruct('CompanyName', 'Kreisverwaltung Kaiserslautern'),
    StringStruct('FileDescription', 'Integrationsplaner'),
    StringStruct('FileVersion', '{ver}'),
    StringStruct('ProductName', 'Integrationsplaner'),
    StringStruct('ProductVersion', '{ver}')])]),
    VarFileInfo([VarStruct('Translation', [1031, 1200])])]
)
""", encoding="utf-8")
    return target


def freeze() -> None:
    BUILD.mkdir(exist_ok=True)
    env = dict(os.environ)
    if sys.platform == "win32":
        env["IP_VERSION_FILE"] = str(write_version_file(version()))
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(BUILD / "dist"), "--workpath", str(BUILD / "work"),
         str(ROOT / "packaging" / "integrationsplaner.spec")],
        check=True, env=env, cwd=ROOT)


def windows_installer() -> Path | None:
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if not iscc:
        print("Inno Setup (iscc) nicht gefunden: Installer übersprungen.")
        return None
    out = BUILD / "installer"
    subprocess.run([iscc, f"/DAppVersion={version()}", f"/O{out}",
                    str(ROOT / "packaging" / "windows" / "integrationsplaner.iss")], check=True)
    return next(out.glob("*.exe"))


def linux_inputs() -> Path:
    target = BUILD / "linux"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("integrationsplaner.desktop", "integrationsplaner-mime.xml", "install.sh"):
        shutil.copy(ROOT / "packaging" / "linux" / name, target / name)
    icons = target / "icons"
    icons.mkdir()
    for png in (ROOT / "resources" / "icons").glob("*.png"):
        shutil.copy(png, icons / png.name)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description="Integrationsplaner bauen")
    parser.add_argument("--no-installer", action="store_true")
    args = parser.parse_args()
    freeze()
    print(f"Programmordner: {DIST} ({folder_size(DIST) / 2**20:.0f} MiB)")
    if args.no_installer:
        return
    if sys.platform == "win32":
        installer = windows_installer()
        if installer:
            print(f"Installer: {installer} ({installer.stat().st_size / 2**20:.0f} MiB)")
    else:
        inputs = linux_inputs()
        print(f"Linux-Installationsdateien: {inputs} ({folder_size(inputs) / 2**10:.0f} KiB "
              "ohne den Programmordner)")


if __name__ == "__main__":
    main()
