set -e
ns=sw-capgen-$$
ip netns add $ns
trap "ip netns delete $ns" EXIT
ip -n $ns link set lo up
ip -n $ns link set lo mtu 1400
ip -n $ns addr add 198.18.0.1/32 dev lo
ip -n $ns addr add 198.18.0.2/32 dev lo
ip -n $ns addr add 2001:2::1/128 dev lo nodad
ip -n $ns addr add 2001:2::2/128 dev lo nodad
ip netns exec $ns tcpdump -U -i any -y LINUX_SLL2 -w sll2.pcap 2>/dev/null & p1=$!
ip netns exec $ns tcpdump -U -i any -y LINUX_SLL -w sll.pcap 2>/dev/null & p2=$!
sleep 1
timeout 20 ip netns exec $ns /usr/bin/python3 traffic.py
sleep 1
kill $p1 $p2; wait $p1 $p2 || true
