#!/usr/bin/env bash
# Regenerates the netlink fixtures of src/podnet: what nft, iptables-nft, ipset and
# iproute2 send (and what the kernel answers to their dumps) for the operations kube-bgp
# performs itself. The unit tests compare kube-bgp's messages with these byte for byte.
#
#   src/podnet/testdata/capture.sh        # as root; needs nft, iptables, ipset, ip, strace
#
# Everything runs in a scratch network namespace, deleted on exit. Each fixture is one
# netlink message per line in hex, preceded by `#` lines naming the command.
set -euo pipefail
cd "$(dirname "$0")"
for t in nft iptables ip6tables iptables-legacy ipset ip strace python3; do
  command -v "$t" >/dev/null || { echo "capture.sh: $t is not installed" >&2; exit 2; }
done
ns="kbcapture$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
trace=$(mktemp)
trap 'ip netns del "$ns"; rm -f "$trace"' EXIT

# Splits strace's hex dumps into netlink messages. $1: "send" (the last send, or the one
# holding an nfnetlink batch), "send:TYPE" (the last send whose first message has that
# netlink type) or "recv" (every message received).
extract() {
  python3 - "$1" "$trace" <<'PY'
import re, struct, sys
want, path = sys.argv[1], sys.argv[2]
only = int(want.split(':')[1]) if ':' in want else None
want = want.split(':')[0]
calls = []
cur = None
for line in open(path):
    m = re.match(r'^\d+\s+(sendmsg|sendto|recvmsg|recvfrom)\(', line)
    if m:
        cur = (m.group(1).startswith('send'), bytearray())
        calls.append(cur)
        continue
    m = re.match(r'^ \| [0-9a-f]{5}  ((?:[0-9a-f]{2} {1,2}){1,16})', line)
    if m and cur is not None:
        cur[1].extend(bytes.fromhex(m.group(1).replace(' ', '')))
def split(b):
    out, off = [], 0
    while off + 16 <= len(b):
        n = struct.unpack_from('=I', b, off)[0]
        if n < 16 or off + n > len(b):
            break
        out.append(bytes(b[off:off + n]))
        off += (n + 3) & ~3
    return out
if want == 'send':
    sends = [split(b) for s, b in calls if s and b]
    if only is not None:
        sends = [m for m in sends if m and struct.unpack_from('=H', m[0], 4)[0] == only]
    batch = [m for m in sends if m and struct.unpack_from('=H', m[0], 4)[0] == 0x10]
    chosen = batch[-1] if batch else sends[-1]
    for m in chosen:
        print(m.hex())
else:
    for s, b in calls:
        if not s:
            for m in split(b):
                print(m.hex())
PY
}

# capture NAME send|recv COMMAND...: runs COMMAND in the namespace under strace.
capture() {
  local name=$1 dir=$2
  shift 2
  ip netns exec "$ns" strace -f -qq -e trace=sendmsg,sendto,recvmsg,recvfrom \
    -e write=all -e read=all -o "$trace" "$@" >/dev/null
  local shown="$*"
  shown=${shown//$trace/RULESET}
  { printf '# %s\n' "$shown"; extract "$dir"; } >"$name.hex"
  echo "$name.hex: $(grep -vc '^#' "$name.hex") messages"
}
inns() { ip netns exec "$ns" "$@"; }

# ---- our pod egress table (nftables) ----
cat >"$trace.full" <<'NFT'
table inet kube-bgp {
	set pod-cidrs-v4 {
		type ipv4_addr
		flags interval
		elements = { 10.244.1.0/24, 10.244.2.0/24, 10.245.0.0/16 }
	}
	set node-ips-v4 {
		type ipv4_addr
		elements = { 10.11.0.1, 10.11.0.2 }
	}
	set pod-cidrs-v6 {
		type ipv6_addr
		flags interval
		elements = { fd00:244:1::/64 }
	}
	set node-ips-v6 {
		type ipv6_addr
		elements = { fd00:11::1 }
	}
	chain pod-egress {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr @pod-cidrs-v4 ip daddr != @pod-cidrs-v4 ip daddr != @node-ips-v4 masquerade fully-random comment "kube-bgp: pod egress IPv4"
		ip6 saddr @pod-cidrs-v6 ip6 daddr != @pod-cidrs-v6 ip6 daddr != @node-ips-v6 masquerade fully-random comment "kube-bgp: pod egress IPv6"
	}
}
NFT
capture nft_egress_create send nft -f "$trace.full"
{ echo "delete table inet kube-bgp"; sed -e 's/10.245.0.0\/16/10.246.0.0\/16/' \
    -e 's/{ fd00:244:1::\/64 }/{ fd00:244:1::\/64, fd00:244:2::\/64 }/' \
    -e 's/{ fd00:11::1 }/{ fd00:11::1, fd00:11::2 }/' "$trace.full"; } >"$trace.replace"
capture nft_egress_replace send nft -f "$trace.replace"
capture nft_egress_dump_elems recv nft list set inet kube-bgp pod-cidrs-v4
capture nft_egress_delete send nft delete table inet kube-bgp
sed -e '/elements = /d' "$trace.full" >"$trace.empty"
capture nft_egress_create_empty send nft -f "$trace.empty"
inns nft delete table inet kube-bgp

# ---- iptables-nft: kube-router's FORWARD accept rules (filter table exists) ----
inns iptables -P FORWARD DROP
inns ip6tables -P FORWARD DROP
capture ipt_forward_in send iptables -I FORWARD 1 -m comment --comment "allow outbound traffic from pods" -i kube-bridge -j ACCEPT
capture ipt_forward_out send iptables -I FORWARD 1 -m comment --comment "allow inbound traffic to pods" -o kube-bridge -j ACCEPT
capture ipt_forward_node send iptables -I FORWARD 1 -m comment --comment "allow outbound node port traffic on node interface with which node ip is associated" -o eth0 -j ACCEPT
capture ip6t_forward_in send ip6tables -I FORWARD 1 -m comment --comment "allow outbound traffic from pods" -i kube-bridge -j ACCEPT
inns iptables -A FORWARD -i eth1 -m comment --comment "someone else" -j ACCEPT
capture ipt_forward_dump recv iptables -S FORWARD
handle=$(inns nft -a list chain ip filter FORWARD 2>/dev/null | sed -n 's/.*iifname "kube-bridge".*# handle \([0-9]*\)$/\1/p')
capture nft_rule_delete send nft delete rule ip filter FORWARD handle "$handle"

# ---- kube-router's pod egress ipsets and masquerade rules, as it writes them ----
inns ipset create kube-router-pod-subnets hash:net timeout 0
inns ipset create kube-router-node-ips hash:ip timeout 0
inns ipset create inet6:kube-router-pod-subnets hash:net family inet6 timeout 0
inns ipset create inet6:kube-router-node-ips hash:ip family inet6 timeout 0
capture ipset_add_net send ipset add kube-router-pod-subnets 10.244.3.0/24 timeout 0
capture ipset_add_ip send ipset add kube-router-node-ips 10.11.0.3 timeout 0
capture ipset_add_net6 send ipset add inet6:kube-router-pod-subnets fd00:244:3::/64 timeout 0
capture ipset_add_ip6 send ipset add inet6:kube-router-node-ips fd00:11::3 timeout 0
capture ipset_del_net send ipset del kube-router-pod-subnets 10.244.3.0/24
inns ipset add kube-router-pod-subnets 10.244.4.0/24 timeout 0
inns ipset add kube-router-pod-subnets 10.244.5.0/24 timeout 0
capture ipset_list send ipset list kube-router-pod-subnets
capture ipset_list_reply recv ipset list kube-router-pod-subnets
inns iptables -t nat -A POSTROUTING -o eth9 -j MASQUERADE
inns iptables -t nat -A POSTROUTING -m set --match-set kube-router-pod-subnets src -m set ! --match-set kube-router-pod-subnets dst -m set ! --match-set kube-router-node-ips dst -j MASQUERADE --random-fully
inns iptables -t nat -A POSTROUTING -m set --match-set kube-router-pod-subnets src -m set ! --match-set kube-router-pod-subnets dst -j MASQUERADE
capture ipt_kuberouter_nat_dump recv iptables -t nat -S POSTROUTING
inns ip6tables -t nat -A POSTROUTING -m set --match-set inet6:kube-router-pod-subnets src -m set ! --match-set inet6:kube-router-pod-subnets dst -m set ! --match-set inet6:kube-router-node-ips dst -j MASQUERADE --random-fully
capture ip6t_kuberouter_nat_dump recv ip6tables -t nat -S POSTROUTING
inns iptables -t nat -F POSTROUTING
inns ip6tables -t nat -F POSTROUTING
capture ipset_destroy send ipset destroy kube-router-node-ips

# ---- kube-bridge (rtnetlink) ----
capture link_bridge_create send ip link add kube-bridge type bridge
capture link_bridge_mtu send ip link set dev kube-bridge mtu 1400
capture link_bridge_up send ip link set dev kube-bridge up
capture link_bridge_delete send:17 ip link del kube-bridge
