#!/usr/bin/env bash
# Per-user installation of the frozen program on Linux (no root, no internet):
#   bash install.sh /path/to/Integrationsplaner   (the folder built by packaging/build.py)
set -euo pipefail
source_dir="${1:?Bitte den Programmordner angeben (build/dist/Integrationsplaner)}"
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
target="$HOME/.local/opt/Integrationsplaner"
mkdir -p "$target" "$HOME/.local/bin" "$prefix/applications" "$prefix/mime/packages"
rm -rf "$target.new" && cp -a "$source_dir" "$target.new" && rm -rf "$target" && mv "$target.new" "$target"
ln -sf "$target/Integrationsplaner" "$HOME/.local/bin/integrationsplaner"
ln -sf "$target/integrationsplaner-cli" "$HOME/.local/bin/integrationsplaner-cli"
install -m 644 "$here/integrationsplaner.desktop" "$prefix/applications/integrationsplaner.desktop"
install -m 644 "$here/integrationsplaner-mime.xml" "$prefix/mime/packages/integrationsplaner.xml"
for size in 16 32 48 64 128 256; do
  dir="$prefix/icons/hicolor/${size}x${size}"
  mkdir -p "$dir/apps" "$dir/mimetypes"
  install -m 644 "$here/icons/integrationsplaner-$size.png" "$dir/apps/integrationsplaner.png"
  install -m 644 "$here/icons/buendel-$size.png" \
    "$dir/mimetypes/application-x-integrationsplaner-buendel.png"
done
command -v update-mime-database >/dev/null && update-mime-database "$prefix/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$prefix/applications" || true
echo "Integrationsplaner ist installiert: $target (Start: integrationsplaner)"
