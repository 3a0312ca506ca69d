#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# famfs on two hosts sharing one memory (scripts/vm2.sh): both guests run this script, one
# as the owner (famfs.host=owner), one as the client (famfs.host=client); they pace each other
# with messages on ttyS1 (guest/peer.sh).  Each has its own system uuid (/opt/famfs/system_uuid,
# made at first use).  The owner turns the shared pmem region into a devdax namespace, formats
# it and mounts it; the client finds the namespace as the owner left it and mounts the same
# file system.  Then: the same namespace, attributes and maps on both; a file created on the
# owner appears on the client without a remount (the delay is measured); data written on one
# host through write(2) and a mapping reads back byte-exact on the other through read(2) and a
# mapping; the client's creat/mkdir/cp are refused and leave the log as it was; the owner
# appends while the client checks the log again and again; each host unmounts and mounts
# again while the other serves.  TAP, ending with a kselftest "# Totals:" line.

. /famfs/lib.sh
. /famfs/peer.sh
. /famfs/tap.sh
export PATH=/famfs/bin:$PATH
export FAMFS_RUNDIR=/tmp/famfs-run
TAP_OUT=/tmp/2host.out
DEV=/dev/dax0.0
MNT=/mnt/famfs
FAMFS_HOST=$(sed -n 's/.*famfs\.host=\([a-z]*\).*/\1/p' /proc/cmdline)
H=$FAMFS_HOST
# The append test: directories in batches, and a file every few batches.
BATCHES=20
PER_BATCH=10
APPENDS=$((BATCHES * PER_BATCH + BATCHES / 4))
# Bounded waits (seconds): generous for TCG; what they measure is printed.
APPEAR_WAIT=30
APPEND_WAIT=600
umask 0

mounted() { grep -q " $MNT fuse" /proc/mounts; }
famfsd_log() { sed 's/^/# famfsd: /' "$FAMFS_RUNDIR"/_mnt_famfs.log 2>/dev/null | tail -n 20; }
do_mount()
{
	if famfs mount "$DEV" "$MNT" > "$TAP_OUT" 2>&1 && mounted; then
		ok "$H: famfs mount${1:+ ($1)}"
	else
		sed 's/^/# /' "$TAP_OUT"
		famfsd_log
		not_ok "$H: famfs mount${1:+ ($1)}"
	fi
}
do_umount()
{
	if famfs umount "$MNT" > "$TAP_OUT" 2>&1 && ! mounted; then
		ok "$H: famfs umount${1:+ ($1)}"
	else
		sed 's/^/# /' "$TAP_OUT"
		umount "$MNT" 2>/dev/null
		not_ok "$H: famfs umount${1:+ ($1)}"
	fi
}
# Stop here: tell the peer, count what is left as failed.
abort()
{
	not_ok "$H: $*"
	peer_send ABORT "$H: $*"
	totals
	exit 1
}
# wait_for NAME SECONDS CMD...: poll CMD every 50 ms until it succeeds; WAITED_MS says how
# long it took (centisecond clock).  Fails after SECONDS.
wait_for()
{
	name=$1
	limit=$(($2 * 100))
	shift 2
	w0=$(uptime_cs)
	while ! "$@" > /dev/null 2>&1; do
		if [ $(($(uptime_cs) - w0)) -ge $limit ]; then
			WAITED_MS=$(($(uptime_cs) - w0))0
			not_ok "$name (not within ${limit}0 ms)"
			return 1
		fi
		sleep 0.05
	done
	WAITED_MS=$(($(uptime_cs) - w0))0
	ok "$name"
}
sha() { sha256sum | cut -c1-64; }
# The namespace as a host sees it: names, types, sizes, modes, owners and inode numbers
# (stable across hosts), then every file's map.  .meta differs by role (0444 on a client).
ns_attrs()
{
	(cd "$MNT" && find . -path ./.meta -prune -o -print | sort |
		while read -r f; do stat -c '%n %F %s %a %u %g %i' "$f"; done)
}
ns_maps()
{
	(cd "$MNT" && find . -path ./.meta -prune -o -type f -print | sort |
		while read -r f; do echo "$f"; famfs getmap "$f"; done)
}
# loop_verify FILE SEED STOPFILE OUT: verify FILE (read(2) and mmap in turn) until STOPFILE
# exists; OUT gets "passes failures".
loop_verify()
{
	p=0
	f=0
	while [ ! -e "$3" ]; do
		famfs verify -f "$MNT/$1" -S "$2" > /dev/null 2>&1 || f=$((f + 1))
		famfs --mount "$MNT" verify --mmap -S "$2" "$1" > /dev/null 2>&1 || f=$((f + 1))
		p=$((p + 1))
	done
	echo "$p $f" > "$4"
}

case "$H" in owner|client) ;; *) echo "famfs_2host: famfs.host=owner|client missing"; exit 2 ;; esac
echo "# this guest is the $H"
mkdir -p "$MNT" "$FAMFS_RUNDIR"
peer_hello || abort "the peer guest answers on ttyS1"
ok "$H: the peer guest answers on ttyS1"
famfs_load || abort "insmod famfs_iomap"

# --- the shared region: the owner makes it a devdax namespace, the client finds it ---
# --map=mem: each kernel keeps the struct pages of the device in its own RAM; with the default
# (--map=dev) they would live in the shared memory, where the two kernels overwrite each
# other's page refcounts and folio orders (WARNs in fs/dax.c and mm/huge_memory.c, SIGBUS).
if [ $H = owner ]; then
	t "owner: namespace0.0 to devdax (writes the info block into the shared memory)" \
		ndctl create-namespace --force --mode=devdax --map=mem --align=2M --reconfig=namespace0.0
	t "owner: dax0.0 in devdax mode" dax_mode devdax dax0.0
	t "owner: mkfs.famfs" mkfs.famfs -f "$DEV"
	echo "# owner: system uuid $(cat /opt/famfs/system_uuid)"
	t "owner: dax0.0 in fsdev mode" dax_mode fsdev dax0.0
	do_mount
	mounted || abort "owner: mounted"
	t "owner: creat simple (3 MiB)" famfs creat -s 3m -r -S 11 "$MNT/simple"
	t "owner: creat interleaved 2 x 2 MiB chunks (9 MiB)" \
		famfs creat -N 2 -C 2m --allow-small-stripes -s 9m -r -S 22 "$MNT/il2m"
	t "owner: mkdir -m 0750 -u 12 -g 34" famfs mkdir -m 0750 -u 12 -g 34 "$MNT/dir"
	t "owner: creat -m 0600 -u 5 -g 6 dir/small" \
		famfs creat -s 8k -r -S 33 -m 0600 -u 5 -g 6 "$MNT/dir/small"
	t "owner: creat data (8 MiB) and both (4 MiB, 0666)" \
		sh -c "famfs creat -s 8m $MNT/data && famfs creat -s 4m -m 0666 $MNT/both"
	t "owner: flush" famfs flush "$MNT/simple" "$MNT/il2m" "$MNT/dir/small"
	peer_send FORMATTED
else
	peer_wait FORMATTED || abort "client: the owner formatted"
	# Booted before the owner wrote the info block, the client saw a raw namespace: probe
	# it again (disable, enable), without writing anything.
	if [ ! -e /sys/bus/dax/devices/dax0.0 ]; then
		ndctl disable-namespace namespace0.0 > /dev/null 2>&1
		ndctl enable-namespace namespace0.0 > /dev/null 2>&1
	fi
	t "client: finds the owner's devdax namespace as is" \
		sh -c "ndctl list -N -n namespace0.0 | grep -q '\"mode\":\"devdax\"' && [ -e /sys/bus/dax/devices/dax0.0 ]"
	t "client: dax0.0 in fsdev mode" dax_mode fsdev dax0.0
	do_mount
	mounted || abort "client: mounted"
	echo "# client: system uuid $(cat /opt/famfs/system_uuid 2>/dev/null)"
	t "client: .meta/.log is read-only here (0444)" \
		sh -c "[ \"\$(stat -c %a $MNT/.meta/.log)\" = 444 ]"
fi

# --- the same namespace, attributes and maps ---
ns_attrs > /tmp/ns.attrs
ns_maps > /tmp/ns.maps
echo "# $H: $(grep -c . /tmp/ns.attrs) names, $(grep -c '^\./' /tmp/ns.maps) files"
if [ $H = owner ]; then
	peer_send NS "$(sha < /tmp/ns.attrs) $(sha < /tmp/ns.maps)"
	peer_wait NS-CHECKED
else
	peer_wait NS || abort "client: the owner's namespace digest"
	set -- $PEER_ARGS
	t "client: same names, types, sizes, modes, owners and inode numbers as the owner" \
		sh -c "cat /tmp/ns.attrs; [ \"\$(sha256sum < /tmp/ns.attrs | cut -c1-64)\" = $1 ]"
	t "client: same maps as the owner" \
		sh -c "cat /tmp/ns.maps; [ \"\$(sha256sum < /tmp/ns.maps | cut -c1-64)\" = $2 ]"
	t "client: dir attributes 750 12 34" sh -c "[ \"\$(stat -c '%a %u %g' $MNT/dir)\" = '750 12 34' ]"
	t "client: simple through read(2)" famfs verify -f "$MNT/simple" -S 11
	t "client: il2m through mmap" famfs --mount "$MNT" verify --mmap -S 22 il2m
	t "client: dir/small through mmap" famfs --mount "$MNT" verify --mmap -S 33 dir/small
	peer_send NS-CHECKED
fi

# --- a file made on the owner while the client is mounted appears there ---
if [ $H = client ]; then
	# The client looks first: the miss is what an application would see before.
	[ -e "$MNT/live1" ] && not_ok "client: live1 exists before the owner made it"
	ls "$MNT" > /dev/null
	peer_sync live
	peer_wait LIVE1 || abort "client: the owner created live1"
	wait_for "client: live1 appears without a remount (lookup by name)" "$APPEAR_WAIT" \
		test -e "$MNT/live1"
	echo "# client: live1 visible ${WAITED_MS} ms after the owner's message (by name; famfsd's entry timeout is 1 s)"
	peer_wait LIVE2 || abort "client: the owner created live2"
	wait_for "client: live2 appears without a remount (ls)" "$APPEAR_WAIT" \
		sh -c "ls $MNT | grep -qx live2"
	echo "# client: live2 visible ${WAITED_MS} ms after the owner's message (listing the directory)"
	t "client: flush live1" famfs flush "$MNT/live1"
	t "client: live1 through read(2)" famfs verify -f "$MNT/live1" -S 71
	t "client: live1 through mmap" famfs --mount "$MNT" verify --mmap -S 71 live1
	t "client: live2 through mmap" famfs --mount "$MNT" verify --mmap -S 72 live2
	peer_send LIVE-CHECKED
else
	peer_sync live
	t "owner: creat live1 while the client is mounted" famfs creat -s 4m -r -S 71 "$MNT/live1"
	famfs flush "$MNT/live1"
	peer_send LIVE1
	t "owner: creat live2" famfs creat -s 2m -r -S 72 "$MNT/live2"
	famfs flush "$MNT/live2"
	peer_send LIVE2
	peer_wait LIVE-CHECKED
fi

# --- data: owner -> client (data), client -> owner (both) ---
if [ $H = owner ]; then
	head -c 3145728 /dev/urandom > /tmp/w.bin
	head -c 3000001 /dev/urandom > /tmp/m.bin
	t "owner: write(2) 3 MiB at 0 of data" \
		dd if=/tmp/w.bin of="$MNT/data" bs=64k conv=notrunc
	t "owner: 3000001 bytes stored through a mapping at 4 MiB + 123" \
		sh -c "mmapio write $MNT/data 4194427 < /tmp/m.bin"
	t "owner: flush data" famfs flush "$MNT/data"
	t "owner: data's write(2) part reads back" \
		sh -c "dd if=$MNT/data bs=64k count=48 2>/dev/null | cmp - /tmp/w.bin"
	t "owner: data's mapped part reads back" \
		sh -c "mmapio read $MNT/data 4194427 3000001 | cmp - /tmp/m.bin"
	peer_send DATA "$(sha < "$MNT/data")"
	peer_wait BOTH || abort "owner: the client wrote both"
	want=$PEER_ARGS
	t "owner: flush both" famfs flush "$MNT/both"
	t "owner: both, written by the client, byte-exact through read(2)" \
		sh -c "[ \"\$(sha256sum < $MNT/both | cut -c1-64)\" = $want ]"
	t "owner: both, written by the client, byte-exact through mmap" \
		sh -c "[ \"\$(mmapio read $MNT/both 0 4194304 | sha256sum | cut -c1-64)\" = $want ]"
else
	peer_wait DATA || abort "client: the owner wrote data"
	want=$PEER_ARGS
	t "client: flush data" famfs flush "$MNT/data"
	t "client: data byte-exact through read(2)" \
		sh -c "[ \"\$(sha256sum < $MNT/data | cut -c1-64)\" = $want ]"
	t "client: data byte-exact through mmap" \
		sh -c "[ \"\$(mmapio read $MNT/data 0 8388608 | sha256sum | cut -c1-64)\" = $want ]"
	head -c 1048576 /dev/urandom > /tmp/w.bin
	head -c 1048583 /dev/urandom > /tmp/m.bin
	t "client: write(2) 1 MiB at 0 of both" dd if=/tmp/w.bin of="$MNT/both" bs=64k conv=notrunc
	t "client: 1048583 bytes stored through a mapping at 2 MiB + 5" \
		sh -c "mmapio write $MNT/both 2097157 < /tmp/m.bin"
	t "client: flush both" famfs flush "$MNT/both"
	peer_send BOTH "$(sha < "$MNT/both")"
fi

# --- the client cannot change the namespace, and the log stays as it was ---
if [ $H = owner ]; then
	log0=$(sha < "$MNT/.meta/.log")
	peer_sync refuse
	peer_wait REFUSED || abort "owner: the client tried"
	t "owner: the log is unchanged by the client's attempts" \
		sh -c "[ \"\$(sha256sum < $MNT/.meta/.log | cut -c1-64)\" = $log0 ]"
else
	peer_sync refuse
	log0=$(sha < "$MNT/.meta/.log")
	echo x > /tmp/short
	fails_with "client: creat refused" "this host is a client" famfs creat -s 2m "$MNT/cl1"
	fails_with "client: mkdir refused" "this host is a client" famfs mkdir "$MNT/cl2"
	fails_with "client: mkdir -p refused" "this host is a client" famfs mkdir -p "$MNT/cl3/x"
	fails_with "client: cp refused" "this host is a client" famfs cp /tmp/short "$MNT/cl4"
	mkdir -p /tmp/tree/sub && echo y > /tmp/tree/sub/f
	fails_with "client: cp -r refused" "this host is a client" famfs cp -r /tmp/tree "$MNT/cl5"
	t "client: nothing was created" sh -c "! ls $MNT | grep -q '^cl'"
	t "client: the log is unchanged" sh -c "[ \"\$(sha256sum < $MNT/.meta/.log | cut -c1-64)\" = $log0 ]"
	peer_send REFUSED
fi

# --- the owner appends while the client checks the log over and over ---
if [ $H = owner ]; then
	t "owner: mkdir many" famfs mkdir "$MNT/many"
	peer_sync append
	a0=$(uptime_cs)
	failed=0
	b=1
	while [ $b -le $BATCHES ]; do
		dirs=
		i=1
		while [ $i -le $PER_BATCH ]; do dirs="$dirs $MNT/many/d$b.$i"; i=$((i + 1)); done
		famfs mkdir $dirs > "$TAP_OUT" 2>&1 || { failed=$((failed + 1)); sed 's/^/# /' "$TAP_OUT"; }
		if [ $((b % 4)) = 0 ]; then
			famfs creat -s 2m "$MNT/many/f$b" > "$TAP_OUT" 2>&1 ||
				{ failed=$((failed + 1)); sed 's/^/# /' "$TAP_OUT"; }
		fi
		b=$((b + 1))
	done
	echo "# owner: $APPENDS log entries appended in $(($(uptime_cs) - a0))0 ms"
	t "owner: every append succeeded" [ $failed = 0 ]
	peer_send APPENDED
	peer_wait APPEND-CHECKED
	t "owner: fsck after the appends" famfs fsck "$MNT"
else
	# Directory listings in the background as well: each one makes famfsd re-read the log
	# header and, when it moved, the log.
	rm -f /tmp/stop-ls
	( while [ ! -e /tmp/stop-ls ]; do ls "$MNT/many" > /dev/null 2>&1; done ) &
	lsp=$!
	peer_sync append
	a0=$(uptime_cs)
	passes=0
	bad=0
	back=0
	seen=
	prev=0
	cnt=0
	while [ $cnt -lt $APPENDS ] && [ $(($(uptime_cs) - a0)) -lt $((APPEND_WAIT * 100)) ]; do
		if ! famfs fsck "$MNT" > /tmp/fsck.out 2>&1; then
			bad=$((bad + 1))
			sed 's/^/# /' /tmp/fsck.out | head -n 20
		fi
		cnt=$(ls "$MNT/many" | wc -l)
		[ "$cnt" -lt "$prev" ] && back=$((back + 1))
		case " $seen " in *" $cnt "*) ;; *) seen="$seen $cnt" ;; esac
		prev=$cnt
		passes=$((passes + 1))
	done
	touch /tmp/stop-ls
	wait $lsp
	echo "# client: $passes fsck passes during the appends, entry counts seen:$seen"
	echo "# client: all $APPENDS entries seen $(($(uptime_cs) - a0))0 ms after the start"
	t "client: fsck clean (crc, seqnums) on every pass while the owner appends ($passes passes)" \
		[ $bad = 0 ]
	t "client: the count of entries never went back" [ $back = 0 ]
	peer_wait APPENDED || abort "client: the owner finished appending"
	t "client: all $APPENDS appended entries present" \
		sh -c "[ \$(ls $MNT/many | wc -l) = $APPENDS ]"
	t "client: fsck after the appends" famfs fsck "$MNT"
	# A reload that read the entries after a newer header would replay entries it did not
	# read, and skip them ("log replay skipped: ... was not read").
	t "client: famfsd skipped no log entry" \
		sh -c "! grep -iE 'skip|bad|crc|torn|warn' $FAMFS_RUNDIR/_mnt_famfs.log"
	peer_send APPEND-CHECKED
fi

# --- each host unmounts and mounts again while the other serves ---
# remount_round WHO: WHO unmounts and mounts again while the other verifies live1 in a loop.
remount_round()
{
	rm -f /tmp/stop /tmp/loop.out
	if [ $H = "$1" ]; then
		peer_sync "remount-$1"
		do_umount "while the peer serves"
		do_mount "again"
		t "$H: live1 after the remount (mmap)" famfs --mount "$MNT" verify --mmap -S 71 live1
		t "$H: data after the remount" sh -c "[ \"\$(sha256sum < $MNT/data | cut -c1-64)\" = $DATA_SHA ]"
		if [ $H = owner ]; then
			t "owner: creat after_remount" famfs creat -s 2m -r -S 81 "$MNT/after_remount"
			famfs flush "$MNT/after_remount"
		fi
		peer_send "REMOUNTED-$1"
		peer_wait "SERVED-$1"
	else
		loop_verify live1 71 /tmp/stop /tmp/loop.out &
		lp=$!
		peer_sync "remount-$1"
		peer_wait "REMOUNTED-$1" || abort "$H: the $1 remounted"
		touch /tmp/stop
		wait $lp
		set -- "$1" $(cat /tmp/loop.out)
		echo "# $H: $2 verify rounds (read(2) and mmap) while the $1 remounted"
		t "$H: served throughout the $1's remount ($2 rounds, ${3:-?} failures)" \
			sh -c "[ '${3:-1}' = 0 ] && [ '${2:-0}' -ge 1 ]"
		if [ "$1" = owner ]; then
			wait_for "client: after_remount appears" "$APPEAR_WAIT" test -e "$MNT/after_remount"
			t "client: after_remount through mmap" famfs --mount "$MNT" verify --mmap -S 81 after_remount
		fi
		peer_send "SERVED-$1"
	fi
}
DATA_SHA=$(sha < "$MNT/data")
remount_round client
remount_round owner

# --- the end: both agree, unmount, the kernel log is clean ---
ns_attrs > /tmp/ns.attrs
if [ $H = owner ]; then
	peer_send NS-END "$(sha < /tmp/ns.attrs)"
else
	peer_wait NS-END
	t "client: same namespace as the owner at the end" \
		sh -c "[ \"\$(sha256sum < /tmp/ns.attrs | cut -c1-64)\" = '$PEER_ARGS' ]"
fi
famfs stats "$MNT" | sed "s/^/# $H: /" | grep -iE 'GETMAP|reload|replay|LOOKUP' | head -n 6
do_umount
peer_sync end
t "$H: no famfsd left" sh -c "! pidof famfsd"
if klog_clean > "$TAP_OUT" 2>&1; then ok "$H: kernel log clean"; else sed 's/^/# /' "$TAP_OUT"; not_ok "$H: kernel log clean"; fi
totals
