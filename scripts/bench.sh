#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: host microbenchmark of fmap resolution.
. "$(dirname "$0")/lib.sh"
exec bash "$TOP/scripts/host-fmap.sh" bench
