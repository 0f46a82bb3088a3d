#!/usr/bin/env bash
# backends.sh: 10,000 bans through each of bantam's firewall backends, side
# by side with fail2ban's own actions on the same machine, each in a fresh
# network namespace (deleted on exit). Time = from the first ban to all in
# place (setup/actionstart not counted).
#
#   bantam   crates/bantam-firewall/examples/ban_many.rs: one Backend::ban
#            call for all addresses (what a burst does in the daemon).
#   fail2ban the actionban command of iptables-multiport (iptables.conf),
#            iptables-ipset, nftables and route, as fail2ban runs it: one
#            shell process per banned address, in sequence.
#   ipset    200,000 entries through bantam's ipset backend (fail2ban's
#            sets stop at 65,536: maxelem default, "Hash is full").
#
# usage: bench/backends.sh [--count N] [--big N] [--no-fail2ban]
# Must run as root. Addresses from 198.18.0.0/15 only.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
count=10000
big=200000
f2b=1
while [ $# -gt 0 ]; do
    case $1 in
        --count) count=$2; shift 2 ;;
        --big) big=$2; shift 2 ;;
        --no-fail2ban) f2b=0; shift ;;
        *) echo "usage: $0 [--count N] [--big N] [--no-fail2ban]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "backends.sh: must run as root" >&2; exit 2; }
(cd "$root" && cargo build -q --release -p bantam-firewall --example ban_many) || exit 2
driver=$root/target/release/examples/ban_many
ns=bt-bench-backends-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
fresh() { cleanup; ip netns add "$ns"; ip -n "$ns" link set lo up; }
inns() { ip netns exec "$ns" "$@"; }

# The addresses, dotted: 198.18.0.0 + i.
addresses() {
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "198.%d.%d.%d\n", 18 + int(i / 65536), int(i / 256) % 256, i % 256 }'
}

echo "== bantam: $count bans, one call =="
for backend in nftables ipset iptables route hosts-deny; do
    fresh
    inns "$driver" "$backend" "$count"
done
echo "== bantam ipset: $big bans, one call =="
fresh
inns "$driver" ipset "$big"

[ "$f2b" = 1 ] || exit 0
echo "== fail2ban actionban, one process per ban: $count bans =="
run_f2b() { # name, start commands, ban command template with IP
    local name=$1 start=$2 ban=$3
    fresh
    inns sh -c "$start"
    local t0 t1
    t0=$(date +%s.%N)
    addresses "$count" | inns sh -c "while read -r ip; do sh -c \"$ban\"; done"
    t1=$(date +%s.%N)
    printf '%s %d bans in %.3f s\n' "$name" "$count" "$(echo "$t1 - $t0" | bc)"
}
# Commands as /etc/fail2ban/action.d expands them for jail "sshd"
# (ports 22, blocktype REJECT / unreachable), printed here for checking:
grep -h '^actionban' /etc/fail2ban/action.d/{iptables,iptables-ipset,nftables,route}.conf 2>/dev/null | sed 's/^/  fail2ban: /' || true
run_f2b iptables-multiport \
    'iptables -w -N f2b-sshd && iptables -w -A f2b-sshd -j RETURN && iptables -w -I INPUT -p tcp -m multiport --dports 22 -j f2b-sshd' \
    'iptables -w -I f2b-sshd 1 -s $ip -j REJECT --reject-with icmp-port-unreachable'
run_f2b iptables-ipset \
    'ipset -exist create f2b-sshd hash:ip timeout 600 && iptables -w -I INPUT -p tcp -m multiport --dports 22 -m set --match-set f2b-sshd src -j REJECT' \
    'ipset -exist add f2b-sshd $ip timeout 600'
run_f2b nftables-multiport \
    'nft add table inet f2b-table && nft add set inet f2b-table addr-set-sshd { type ipv4_addr\; } && nft add chain inet f2b-table f2b-chain { type filter hook input priority -1\; } && nft add rule inet f2b-table f2b-chain tcp dport 22 ip saddr @addr-set-sshd reject' \
    'nft add element inet f2b-table addr-set-sshd { $ip }'
run_f2b route 'true' 'ip route add unreachable $ip'
