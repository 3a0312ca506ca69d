#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The two-host demo (make run HOSTS=2, scripts/vm2.sh run_2host): two guests share one memory;
# the owner formats it and creates files, the client mounts the same memory and reads them as
# they appear.  Both guests run this script (famfs.host=owner|client) and pace each other over
# ttyS1 (guest/peer.sh); scripts/vm2.sh prints both consoles as they go.
. /famfs/lib.sh
. /famfs/peer.sh
export PATH=/famfs/bin:$PATH
export FAMFS_RUNDIR=/tmp/famfs-run
DEV=/dev/dax0.0
MNT=/mnt/famfs
FAMFS_HOST=$(sed -n 's/.*famfs\.host=\([a-z]*\).*/\1/p' /proc/cmdline)
H=$FAMFS_HOST

step() { echo; echo "### $H: $*"; }
run() { echo "\$ $*"; "$@" || { echo "demo: '$*' failed"; peer_send ABORT "$H: $*"; exit 1; }; }
mkdir -p "$MNT" "$FAMFS_RUNDIR"

peer_hello || exit 1
famfs_load || exit 1
if [ "$H" = owner ]; then
	step "the shared memory becomes a devdax namespace (struct pages in this host's RAM: --map=mem)"
	run ndctl create-namespace --force --mode=devdax --map=mem --align=2M --reconfig=namespace0.0 > /dev/null
	run dax_mode devdax dax0.0
	step "format: this host's system uuid goes into the superblock; it is the owner"
	run mkfs.famfs -f "$DEV"
	echo "system uuid: $(cat /opt/famfs/system_uuid)"
	run dax_mode fsdev dax0.0
	run famfs mount "$DEV" "$MNT"
	peer_send READY
	peer_wait MOUNTED || exit 1

	step "create files while the client is mounted"
	echo "written on the owner, $(date -u)" > /tmp/hello.txt
	run famfs cp /tmp/hello.txt "$MNT/hello.txt"
	run famfs creat -s 16m -r -S 7 "$MNT/random16m"
	run famfs mkdir "$MNT/reports"
	run famfs creat -N 2 -C 2m --allow-small-stripes -s 8m -r -S 8 "$MNT/reports/striped"
	step "flush: write the CPU caches back to the memory (needed where hosts do not share caches)"
	run famfs flush "$MNT/hello.txt" "$MNT/random16m" "$MNT/reports/striped"
	peer_send CREATED
	peer_wait READ || exit 1
	step "the owner's view at the end"
	famfs stats "$MNT" | grep -E 'GETMAP requests|reloads'
	run famfs umount "$MNT" > /dev/null
else
	step "waiting for the owner to format the shared memory"
	peer_wait READY || exit 1
	# The namespace the owner made: probe it again to find its info block as is.
	[ -e /sys/bus/dax/devices/dax0.0 ] || {
		ndctl disable-namespace namespace0.0 > /dev/null 2>&1
		ndctl enable-namespace namespace0.0 > /dev/null 2>&1
	}
	step "mount the same memory: another system uuid, so this host is a client"
	run dax_mode fsdev dax0.0
	run famfs mount "$DEV" "$MNT"
	echo "system uuid: $(cat /opt/famfs/system_uuid)"
	run ls -la "$MNT"
	peer_send MOUNTED
	peer_wait CREATED || exit 1
	t0=$(uptime_cs)
	while [ ! -e "$MNT/reports/striped" ] && [ $(($(uptime_cs) - t0)) -lt 3000 ]; do sleep 0.05; done
	step "the owner's new files, seen $(($(uptime_cs) - t0))0 ms after its message, without a remount"
	run ls -lR "$MNT"
	run cat "$MNT/hello.txt"
	run famfs flush "$MNT/random16m" "$MNT/reports/striped"
	run famfs verify -f "$MNT/random16m" -S 7
	run famfs --mount "$MNT" verify --mmap -S 8 reports/striped
	run famfs getmap "$MNT/reports/striped"
	step "a client cannot change the namespace"
	echo "\$ famfs creat -s 2m $MNT/mine"
	famfs creat -s 2m "$MNT/mine" 2>&1
	peer_send READ
	step "the client's view at the end"
	famfs stats "$MNT" | grep -E 'GETMAP requests|reloads'
	run famfs umount "$MNT" > /dev/null
fi
peer_sync end
