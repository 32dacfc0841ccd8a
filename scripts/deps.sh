#!/usr/bin/env bash
# Installs the Debian packages davit's build and tests use, when missing.
# Idempotent and quiet when everything is already there.
set -euo pipefail
pkgs=(
  curl jq            # tests and README examples
  iproute2 nftables  # multi-node test harness: namespaces, bridge, partitions
  qemu-utils         # qemu-img: image inspection and conversion
  xorriso bzip2      # image tests: ISO fixtures, bz2-compressed fixtures
  docker-registry    # image tests: a real container registry on loopback
  qemu-system-x86    # the VMs
  busybox-static     # test guests; `busybox ping` in the harness
  ovmf               # EFI firmware for VMs with bootloader EFI
  cpio xz-utils fdisk dosfstools mtools syslinux syslinux-common isolinux xorriso
                     # scripts/build-test-guest.sh: initramfs, disk and ISO
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
