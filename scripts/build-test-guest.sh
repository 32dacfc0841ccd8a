#!/usr/bin/env bash
# build-test-guest.sh OUTDIR — builds davit's tiny test guest from Debian packages only.
#
# Produces in OUTDIR:
#   vmlinux     the uncompressed kernel (PVH entry; fastest for -kernel direct boot)
#   vmlinuz     the Debian kernel as shipped
#   initrd.img  busybox-static + /init: mounts proc/sys/dev, loads the virtio modules, prints
#               DAVIT-GUEST-READY on ttyS0, then "tick N" every second; powers off (poweroff -f)
#               when the ACPI power button is pressed (QMP system_powerdown)
#   disk.qcow2  bootable disk: MBR + FAT partition with syslinux (BIOS)
#   guest.iso   isolinux ISO
#
# Cached: when OUTDIR holds artifacts built by this exact script (a stamp of its sha256), it
# only prints their paths. No loop devices, no network except the Debian mirror (apt-get
# download of the kernel package linux-image-amd64 depends on). Exits 3 when a tool is missing,
# naming the Debian package that provides it (scripts/deps.sh installs them all).
set -euo pipefail

OUT=${1:?usage: build-test-guest.sh OUTDIR}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
ARTIFACTS=(vmlinux vmlinuz initrd.img disk.qcow2 guest.iso)
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
  failover net_failover virtio_net)

mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
stamp=$(sha256sum "$SELF" | cut -d' ' -f1)

print_paths() { for a in "${ARTIFACTS[@]}"; do echo "$OUT/$a"; done; }

is_current() {
  [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$stamp" ] || return 1
  for a in "${ARTIFACTS[@]}"; do [ -s "$OUT/$a" ] || return 1; done
}

if is_current; then print_paths; exit 0; fi

# One builder at a time per OUTDIR (parallel test binaries share the cache).
exec 9>"$OUT/.lock"
flock 9
if is_current; then print_paths; exit 0; fi

missing=()
need() { # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package $2)")
}
need dpkg-deb dpkg
need apt-get apt
need xz xz-utils
need cpio cpio
need sfdisk fdisk
need mkfs.vfat dosfstools
need mcopy mtools
need syslinux syslinux
need xorriso xorriso
need qemu-img qemu-utils
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=("static /bin/busybox (Debian package busybox-static)")
for f in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/syslinux/modules/bios/ldlinux.c32; do
  [ -f "$f" ] || missing+=("$f (Debian package syslinux-common)")
done
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || missing+=("/usr/lib/ISOLINUX/isolinux.bin (Debian package isolinux)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'build-test-guest: missing %s\n' "${missing[@]}" >&2
  exit 3
fi

WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log() { echo "build-test-guest: $*" >&2; }

# --- kernel -------------------------------------------------------------------------------
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'; }
pkg=$(kpkg)
if [ -z "$pkg" ]; then
  log "apt lists empty; apt-get update"
  apt-get update -qq >&2
  pkg=$(kpkg)
fi
[ -n "$pkg" ] || { log "cannot resolve the kernel package linux-image-amd64 depends on"; exit 1; }

mkdir -p "$OUT/.cache"
deb=$(ls "$OUT/.cache/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  log "downloading $pkg"
  (cd "$OUT/.cache" && apt-get -o APT::Sandbox::User=root download "$pkg" >&2)
  deb=$(ls "$OUT/.cache/${pkg}_"*.deb | head -n1)
fi

mkdir -p "$WORK/k"
patterns=('./boot/vmlinuz-*' './lib/modules/*/kernel/drivers/acpi/button.ko'
  './lib/modules/*/kernel/drivers/input/evdev.ko')
for m in "${MODULES[@]}"; do patterns+=("./lib/modules/*/$m.ko"); done
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$WORK/k" --wildcards "${patterns[@]}"
# module names appear in several dirs (virtio.ko vs virtio_*.ko): the wildcard "*/virtio.ko"
# only matches the exact file name, which is what we want.
cp "$WORK"/k/boot/vmlinuz-* "$WORK/vmlinuz"

# vmlinux: vmlinuz is a bzImage whose payload is xz; start at the xz magic and let xz stop at
# the end of the stream (trailing data is ignored with --single-stream).
off=$(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$WORK/vmlinuz" | head -n1 | cut -d: -f1 || true)
[ -n "$off" ] || { log "no xz payload in vmlinuz"; exit 1; }
tail -c +$((off + 1)) "$WORK/vmlinuz" | xz -dc --single-stream >"$WORK/vmlinux" 2>/dev/null || true
head -c 4 "$WORK/vmlinux" | grep -q $'\x7fELF' || { log "vmlinux is not an ELF file"; exit 1; }

# --- initramfs ----------------------------------------------------------------------------
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/modules}
cp /bin/busybox "$R/bin/busybox"
for m in "${MODULES[@]}" evdev button; do
  f=$(find "$WORK/k/lib/modules" -name "$m.ko" | head -n1)
  [ -n "$f" ] || { log "module $m.ko not in $pkg"; exit 1; }
  cp "$f" "$R/lib/modules/"
done
cat >"$R/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The order matters: a module loaded before its dependencies fails silently.
for m in ${MODULES[*]}; do
  insmod /lib/modules/\$m.ko 2>/dev/null
done
# ACPI power button (QMP system_powerdown): the button driver turns it into an input event,
# evdev exposes it as /dev/input/eventN; the first event read from that device powers the
# guest off (ACPI S5, QEMU exits). The device is opened before the marker is printed: evdev
# only queues events for readers that have it open, so a press after the marker is never lost.
insmod /lib/modules/evdev.ko 2>/dev/null
insmod /lib/modules/button.ko 2>/dev/null
for ev in /sys/class/input/event*; do
  if grep -q "Power Button" "\$ev/device/name" 2>/dev/null; then
    exec 3</dev/input/\${ev##*/}
    (dd bs=24 count=1 <&3 >/dev/null 2>&1
     echo DAVIT-GUEST-POWEROFF >/dev/ttyS0
     poweroff -f) &
    exec 3<&-
    break
  fi
done
# Typed on the serial console (davit console): "poweroff" powers the guest off from inside
# (ACPI S5: a guest-initiated shutdown), "reboot" resets it.
(while read -r line; do
   case "\$line" in
   poweroff) echo DAVIT-GUEST-POWEROFF >/dev/ttyS0; poweroff -f ;;
   reboot) reboot -f ;;
   esac
 done </dev/ttyS0) &
echo DAVIT-GUEST-READY >/dev/ttyS0
n=0
while true; do
  n=\$((n + 1))
  echo "tick \$n" >/dev/ttyS0
  sleep 1
done
EOF
chmod 755 "$R/init"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.img"
[ "$(stat -c %s "$WORK/initrd.img")" -gt 100000 ] || { log "initrd came out empty"; exit 1; }

APPEND="console=ttyS0 quiet"

# --- disk.qcow2: MBR + FAT16 + syslinux, built in a plain file ------------------------------
raw="$WORK/disk.raw"
mib=$(( ($(stat -c %s "$WORK/vmlinuz") + $(stat -c %s "$WORK/initrd.img")) / 1048576 + 4 ))
truncate -s "$((mib + 1))M" "$raw"
printf 'label: dos\nstart=2048, type=6, bootable\n' | sfdisk --quiet "$raw"
mkfs.vfat --offset 2048 -n DAVIT "$raw" $((mib * 1024)) >/dev/null
cat >"$WORK/syslinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND $APPEND
EOF
export MTOOLS_SKIP_CHECK=1
mcopy -i "$raw@@1M" "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/syslinux.cfg" ::/
syslinux --install --offset 1048576 "$raw"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
qemu-img convert -O qcow2 "$raw" "$WORK/disk.qcow2"

# --- guest.iso: isolinux ------------------------------------------------------------------
I="$WORK/iso"
mkdir -p "$I/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$I/isolinux/"
sed 's#KERNEL vmlinuz#KERNEL /vmlinuz#; s#INITRD initrd.img#INITRD /initrd.img#' "$WORK/syslinux.cfg" >"$I/isolinux/isolinux.cfg"
cp "$WORK/vmlinuz" "$WORK/initrd.img" "$I/"
xorriso -as mkisofs -quiet -o "$WORK/guest.iso" -V DAVIT \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
  -boot-info-table -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$I" 2>/dev/null

for a in "${ARTIFACTS[@]}"; do mv -f "$WORK/$a" "$OUT/$a"; done
echo "$stamp" >"$OUT/.stamp"
log "built from $pkg"
print_paths
