#!/usr/bin/env bash
# Installs the Debian packages the demo and the tests need. Idempotent: a package
# already present costs one dpkg query, so CI and developers can call it every time.
set -euo pipefail

packages=(
  redis-server
  php-cli php-mysql php-curl php-xml php-mbstring php-zip php-intl
  wordpress mariadb-server mariadb-client
  apache2 libapache2-mod-php
  phpunit php-codesniffer
  chromium
  poppler-utils
  gettext
  fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
