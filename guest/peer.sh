# SPDX-License-Identifier: GPL-2.0
# Messages between the two guests of the two-host mode (sourced).  scripts/vm2.sh joins the
# guests' second serial ports (ttyS1) with a socket before either guest runs; a message is one
# line "TAG [ARGS...]".  The 8250 driver clears its FIFO when the port is opened, so what the
# peer sent before that may be lost: peer_hello repeats its greeting until the peer answers,
# and readers skip lines they do not wait for.

PEER_TTY=${PEER_TTY:-/dev/ttyS1}
PEER_TIMEOUT=${PEER_TIMEOUT:-600}
PEER_HELLO_TIMEOUT=${PEER_HELLO_TIMEOUT:-180}

# peer_hello: open the port (fd 3), greet the peer until it greets back; fail after
# PEER_HELLO_TIMEOUT seconds.  Until the peer's port is raw, its line discipline echoes what
# arrives: this guest's own greeting may come back, and does not count.
peer_hello()
{
	[ -c "$PEER_TTY" ] || { echo "# peer: no $PEER_TTY"; return 1; }
	exec 3<>"$PEER_TTY"
	stty 115200 raw -echo <&3 2>/dev/null
	i=0
	while [ $i -lt "$PEER_HELLO_TIMEOUT" ]; do
		echo "HELLO $FAMFS_HOST" >&3
		if read -r -t 1 line <&3; then
			line=$(echo "$line" | tr -d '\r')
			case "$line" in
			"HELLO $FAMFS_HOST") ;;
			HELLO*)
				# Once more: the peer's port is open now, this one is not lost.
				echo "HELLO $FAMFS_HOST" >&3
				echo "# peer: ${line#HELLO } answered"
				return 0
				;;
			esac
		fi
		i=$((i + 1))
	done
	echo "# peer: no answer within ${PEER_HELLO_TIMEOUT}s"
	return 1
}

# peer_send TAG [ARGS...]
peer_send() { echo "$*" >&3; }

# peer_wait TAG [SECONDS]: wait for the line "TAG ..."; PEER_ARGS holds the rest.  Fails on
# timeout, or when the peer reports that it stopped (ABORT).
peer_wait()
{
	end=$(( $(uptime_s) + ${2:-$PEER_TIMEOUT} ))
	# One read per line, timed out only at the deadline: a read cut short by its timeout
	# would lose the part of a line it consumed.
	while left=$((end - $(uptime_s))) && [ $left -gt 0 ]; do
		read -r -t $left line <&3 || continue
		line=$(echo "$line" | tr -d '\r')
		case "$line" in
		"$1"|"$1 "*)
			PEER_ARGS=${line#"$1"}
			PEER_ARGS=${PEER_ARGS# }
			return 0
			;;
		ABORT*)
			echo "# peer: the peer stopped: $line"
			return 1
			;;
		esac
	done
	echo "# peer: no '$1' within ${2:-$PEER_TIMEOUT}s"
	return 1
}

# peer_sync NAME: both guests reach NAME before either goes on.
peer_sync() { peer_send "SYNC-$1"; peer_wait "SYNC-$1"; }

# Seconds and centiseconds since boot (the guest clock; the two guests' clocks differ).
uptime_s() { cut -d. -f1 /proc/uptime; }
uptime_cs() { tr -d . < /proc/uptime | cut -d' ' -f1; }
